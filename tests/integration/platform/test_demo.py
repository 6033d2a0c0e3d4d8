"""`alix demo` prepares its database and login idempotently."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from alix.bootstrap import build_container
from alix.db.session import unit_of_work
from alix.demo import DEMO_CURRENCIES, DEMO_EMAIL, DEMO_ORG, DEMO_PASSWORD, ensure_demo_data
from alix.identity.service import authenticate
from alix.identity.tables import Organisation, User
from tests.support import make_settings


def test_demo_data_is_created_once_and_the_printed_login_works(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'demo.db'}")
    ensure_demo_data(settings)
    ensure_demo_data(settings)
    container = build_container(settings, with_runner=False)
    with unit_of_work(container.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1
        org = session.scalars(select(Organisation)).one()
        assert (org.name, org.currencies) == (DEMO_ORG, DEMO_CURRENCIES)
        user = authenticate(session, DEMO_EMAIL, DEMO_PASSWORD)
        assert user is not None and user.is_admin
        assert session.scalar(select(func.count()).select_from(User)) == 1
    container.close()
