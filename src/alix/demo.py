"""`alix demo`: a ready-to-click ALIX on SQLite next to a local Zoho CRM emulator."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.identity.tables import Organisation, Role, User
from alix.settings import Settings

DEMO_DIR = Path("var")
DEMO_ORG = "Demo Inc."
# The currencies of the emulator's default org (CAD its home), which its sample Accounts use:
# an Account in a currency the organisation lacks is rejected by the sync.
DEMO_CURRENCIES = ["CAD", "USD", "EUR", "GBP"]
DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-password"
DEMO_CLIENT_ID = "1000.ALIXDEMOCLIENT"
DEMO_CLIENT_SECRET = "alix-demo-client-secret"
EMULATOR_PORT = 8999
# The emulator's sample CRM (its default org, seeded): the arguments that make it.
EMULATOR_DATA = ("--accounts", "200", "--contacts-per-account", "2",
                 "--addresses-per-account", "1", "--seed", "1")


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def ensure_demo_data(settings: Settings) -> None:
    """Migrate and create the demo organisation and its admin once; an existing demo
    organisation gains the demo currencies it lacks."""
    migrate.upgrade(settings.database_url)
    container = build_container(settings, with_runner=False)
    try:
        with unit_of_work(container.session_factory) as session:
            org = session.scalars(select(Organisation).where(Organisation.name == DEMO_ORG)).first()
            if org is None:
                org = create_organisation(session, DEMO_ORG, DEMO_CURRENCIES)
            elif missing := [c for c in DEMO_CURRENCIES if c not in org.currencies]:
                # A demo database made by an older ALIX lacks currencies the CRM uses.
                org.currencies = [*org.currencies, *missing]
            if session.scalars(select(User).where(User.email == DEMO_EMAIL)).first() is None:
                create_user(session, org, DEMO_EMAIL, DEMO_PASSWORD, name="Demo Admin",
                            role=Role.ADMIN)
    finally:
        container.close()


def _start_emulator(public_url: str) -> subprocess.Popen[bytes] | None:
    # Launched as its own process: alix never imports the emulator.
    if importlib.util.find_spec("zoho_emulator") is None or importlib.util.find_spec(
        "zoho_emulator.__main__"
    ) is None:
        print("The Zoho CRM emulator is not installed; starting ALIX alone.")
        return None
    if _listening("127.0.0.1", EMULATOR_PORT):
        print(f"A Zoho CRM emulator already listens on port {EMULATOR_PORT}; reusing it.")
        return None
    command = [
        sys.executable, "-m", "zoho_emulator", "--host", "127.0.0.1",
        "--port", str(EMULATOR_PORT), *EMULATOR_DATA,
        "--data", str(DEMO_DIR / "zoho-emulator.db"),
        "--register-client",
        f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}:{public_url}/integrations/zoho-crm/oauth/callback",
    ]
    process = subprocess.Popen(command)
    for _ in range(100):
        if _listening("127.0.0.1", EMULATOR_PORT):
            return process
        if process.poll() is not None:
            raise SystemExit("The Zoho CRM emulator did not start; see its output above.")
        time.sleep(0.1)
    return process


def run_demo(settings: Settings, *, host: str, port: int) -> int:
    """Create or reuse ./var/alix-demo.db, start the emulator and serve the app."""
    import uvicorn

    from alix.web.app import create_app

    DEMO_DIR.mkdir(exist_ok=True)
    public_url = f"http://{host}:{port}"
    emulator_url = f"http://127.0.0.1:{EMULATOR_PORT}"
    overrides = {
        "environment": "development",
        "public_url": public_url,
        "zoho_accounts_url": emulator_url,
        "zoho_client_id": DEMO_CLIENT_ID,
        "zoho_client_secret": DEMO_CLIENT_SECRET,
    }
    if "database_url" not in settings.model_fields_set:
        overrides["database_url"] = f"sqlite:///{DEMO_DIR / 'alix-demo.db'}"
    settings = Settings(**{**settings.model_dump(), **overrides})
    ensure_demo_data(settings)
    emulator = _start_emulator(public_url)
    container = build_container(settings)
    app = create_app(container)
    print("\n  ALIX demo is ready.")
    print(f"  Open   {public_url}/")
    print(f"  Login  {DEMO_EMAIL}  /  {DEMO_PASSWORD}")
    if emulator is not None or _listening("127.0.0.1", EMULATOR_PORT):
        print(f"  Zoho CRM emulator at {emulator_url} (sample CRM data)\n")
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(10)
    return 0
