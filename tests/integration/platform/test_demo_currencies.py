"""A demo database made before the demo organisation had every CRM currency gains them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db.session import unit_of_work
from alix.demo import DEMO_CURRENCIES, DEMO_ORG, ensure_demo_data
from alix.identity.service import create_organisation
from alix.identity.tables import Organisation
from tests.support import make_settings


def test_an_older_demo_organisation_gains_the_missing_currencies(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(settings.database_url)
    container = build_container(settings, with_runner=False)
    with unit_of_work(container.session_factory) as session:
        create_organisation(session, DEMO_ORG, ["CAD", "USD", "EUR"])
    ensure_demo_data(settings)
    with unit_of_work(container.session_factory) as session:
        org = session.scalars(select(Organisation)).one()
        assert org.currencies == ["CAD", "USD", "EUR", "GBP"] == DEMO_CURRENCIES
    container.close()
