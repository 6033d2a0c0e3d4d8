"""Command line: `python -m zoho_emulator --port 8999 ...` (console script: zoho-emulator)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from .app import create_app
from .orgs import EDITIONS
from .persistence import SqliteData
from .seed import SeedSpec, seed_org
from .state import EmulatorState


def _client(value: str) -> tuple[str, str, str]:
    client_id, secret, uri = value.split(":", 2)
    if not (client_id and secret and uri):
        raise argparse.ArgumentTypeError(f"Expected ID:SECRET:REDIRECT_URI, got {value!r}.")
    return client_id, secret, uri


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="zoho-emulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8999)
    p.add_argument("--accounts", type=int, default=0)
    p.add_argument("--contacts-per-account", type=int, default=0)
    p.add_argument("--addresses-per-account", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--edition", choices=sorted(EDITIONS), default="enterprise")
    p.add_argument("--register-client", type=_client, action="append", default=[],
                   metavar="ID:SECRET:REDIRECT_URI")
    p.add_argument("--data", help="SQLite file keeping the CRM across restarts")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    state = EmulatorState(edition=args.edition)
    state.faults.latency_ms = args.latency_ms
    data = SqliteData(args.data, state) if args.data else None
    restored = data.load() if data else False
    for client_id, secret, uri in args.register_client:
        state.tokens.register_client(client_id, secret, uri)
    if args.accounts and not restored:
        spec = SeedSpec(args.accounts, args.contacts_per_account, args.addresses_per_account,
                        args.seed)
        seed_org(state.default_org, spec, state.now())
        if data:
            data.save_all()
    if data:
        data.attach()
    try:
        uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="info",
                    lifespan="off")
    finally:
        if data:
            data.close()


if __name__ == "__main__":
    main()
