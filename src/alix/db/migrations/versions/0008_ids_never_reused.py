"""ids never reused: AUTOINCREMENT on customers, contact_persons and addresses on SQLite

Without it SQLite gives a new row the largest id + 1, so the id of a deleted newest row names
the next record, and the sync, which pairs records by id, takes the new record for the old one.
PostgreSQL's sequences never hand out an id twice: nothing to do there.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Children first, so that the rows kept aside while customers is rebuilt are already in their
# rebuilt tables' shape.
TABLES = ('contact_persons', 'addresses', 'customers')


def _rebuild(name: str, autoincrement: bool) -> None:
    """Recreate one table with (or without) AUTOINCREMENT, keeping the rows referring to it.

    Batch mode drops the old table, and with foreign keys on, SQLite's DROP TABLE runs an
    implicit DELETE whose ON DELETE CASCADE would empty the tables hanging off it
    (https://sqlite.org/lang_droptable.html): their rows are kept aside and put back, as 0005
    does. PRAGMA foreign_keys cannot be switched off inside the migration's transaction.
    Indexes (the partial one of main addresses too), the CHECK and the foreign keys are
    reflected and recreated by the batch.
    """
    inspector = sa.inspect(op.get_bind())
    children = [
        child for child in inspector.get_table_names()
        if any(fk['referred_table'] == name for fk in inspector.get_foreign_keys(child))
    ]
    for child in children:
        op.execute(f'CREATE TEMP TABLE "_keep_{child}" AS SELECT * FROM "{child}"')
    with op.batch_alter_table(
        name, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass
    for child in children:
        op.execute(f'INSERT INTO "{child}" SELECT * FROM "_keep_{child}"')
        op.execute(f'DROP TABLE "_keep_{child}"')


def _seed_sequence(name: str) -> None:
    # The sequence starts after the largest id left: the ids of rows deleted before this
    # migration are unknown.
    op.execute(sa.text('DELETE FROM sqlite_sequence WHERE name = :name').bindparams(name=name))
    op.execute(sa.text(
        f'INSERT INTO sqlite_sequence (name, seq) SELECT :name, max(id) FROM "{name}" '
        'HAVING max(id) IS NOT NULL'
    ).bindparams(name=name))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in TABLES:
        _rebuild(name, autoincrement=True)
    for name in TABLES:
        _seed_sequence(name)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in TABLES:
        _rebuild(name, autoincrement=False)
