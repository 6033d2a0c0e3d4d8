"""Alembic environment: runs migrations on the URL given by alix.db.migrate."""

from __future__ import annotations

from alembic import context

from alix.db.engine import make_engine
from alix.models import metadata  # the table registry: every table of ALIX is on it

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
