"""sync state: links, watermarks, inbox, issues, runs; AUTOINCREMENT ids of zoho_connections on SQLite

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _rebuild_connections(autoincrement: bool) -> None:
    """Recreate zoho_connections on SQLite with (or without) AUTOINCREMENT, keeping its children.

    Batch mode drops the old table, and with foreign keys on, SQLite's DROP TABLE runs an implicit
    DELETE whose ON DELETE CASCADE would empty the tables hanging off it
    (https://sqlite.org/lang_droptable.html): their rows are kept aside and put back. PRAGMA
    foreign_keys cannot be switched off inside the migration's transaction.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's sequences never hand out an id twice
    inspector = sa.inspect(bind)
    children = [
        name for name in inspector.get_table_names()
        if any(fk["referred_table"] == "zoho_connections" for fk in inspector.get_foreign_keys(name))
    ]
    for name in children:
        op.execute(f'CREATE TEMP TABLE "_keep_{name}" AS SELECT * FROM "{name}"')
    with op.batch_alter_table(
        'zoho_connections', recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass
    for name in children:
        op.execute(f'INSERT INTO "{name}" SELECT * FROM "_keep_{name}"')
        op.execute(f'DROP TABLE "_keep_{name}"')


def upgrade() -> None:
    _rebuild_connections(autoincrement=True)
    op.create_table('zoho_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('zoho_id', sa.String(length=40), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('affected', sa.JSON(), nullable=True),
    sa.Column('received_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_inbox_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_inbox_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_inbox'))
    )
    with op.batch_alter_table('zoho_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_inbox_pending', ['connection_id', 'module', 'zoho_id', 'id'], unique=False, sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))

    op.create_table('zoho_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('alix_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('zoho_module', sa.String(length=100), nullable=False),
    sa.Column('zoho_id', sa.String(length=40), nullable=True),
    sa.Column('base', sa.JSON(), nullable=False),
    sa.Column('base_modified_time', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('tombstoned_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pending_since', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_links_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_links_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_links')),
    sa.UniqueConstraint('connection_id', 'kind', 'alix_id', name=op.f('uq_zoho_links_connection_id_kind_alix_id')),
    sa.UniqueConstraint('connection_id', 'kind', 'zoho_id', name=op.f('uq_zoho_links_connection_id_kind_zoho_id'))
    )
    with op.batch_alter_table('zoho_links', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_links_pending', ['connection_id', 'pending_since'], unique=False, sqlite_where=sa.text('pending_since IS NOT NULL'), postgresql_where=sa.text('pending_since IS NOT NULL'))

    op.create_table('zoho_sync_issues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('alix_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('zoho_id', sa.String(length=40), nullable=True),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_retry_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_sync_issues_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_sync_issues_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_sync_issues'))
    )
    with op.batch_alter_table('zoho_sync_issues', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_sync_issues_retry', ['connection_id', 'next_retry_at'], unique=False, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.create_index('uq_zoho_sync_issues_open', ['connection_id', 'record_key', 'code'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('zoho_sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.Column('started_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_sync_runs_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_sync_runs_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_sync_runs'))
    )
    with op.batch_alter_table('zoho_sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_sync_runs_connection', ['connection_id', 'kind', 'id'], unique=False)

    op.create_table('zoho_watermarks',
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('watermark', sa.JSON(), nullable=False),
    sa.Column('deletions_checked_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_watermarks_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_watermarks_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'module', name=op.f('pk_zoho_watermarks'))
    )


def downgrade() -> None:
    op.drop_table('zoho_watermarks')
    with op.batch_alter_table('zoho_sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_zoho_sync_runs_connection')

    op.drop_table('zoho_sync_runs')
    with op.batch_alter_table('zoho_sync_issues', schema=None) as batch_op:
        batch_op.drop_index('uq_zoho_sync_issues_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_zoho_sync_issues_retry', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.drop_table('zoho_sync_issues')
    with op.batch_alter_table('zoho_links', schema=None) as batch_op:
        batch_op.drop_index('ix_zoho_links_pending', sqlite_where=sa.text('pending_since IS NOT NULL'), postgresql_where=sa.text('pending_since IS NOT NULL'))

    op.drop_table('zoho_links')
    with op.batch_alter_table('zoho_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_zoho_inbox_pending', sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))

    op.drop_table('zoho_inbox')
    _rebuild_connections(autoincrement=False)
