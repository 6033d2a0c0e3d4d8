"""zoho crm settings: connection, modules, field mappings and the shared access-token table

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zoho_access_tokens',
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('api_domain', sa.String(length=255), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_zoho_access_tokens'))
    )
    op.create_table('zoho_connections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=8), nullable=False),
    sa.Column('accounts_url', sa.String(length=255), nullable=False),
    sa.Column('api_domain', sa.String(length=255), nullable=False),
    sa.Column('zoho_org_id', sa.String(length=40), nullable=False),
    sa.Column('zoho_org_name', sa.String(length=255), nullable=False),
    sa.Column('edition', sa.String(length=40), nullable=False),
    sa.Column('zoho_user_id', sa.String(length=40), nullable=False),
    sa.Column('zoho_user_name', sa.String(length=255), nullable=False),
    sa.Column('zoho_user_email', sa.String(length=254), nullable=False),
    sa.Column('zoho_user_time_zone', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('config_version', sa.Integer(), nullable=False),
    sa.Column('conflict_policy', sa.String(length=20), nullable=False),
    sa.Column('delete_crm_to_alix', sa.String(length=20), nullable=False),
    sa.Column('delete_alix_to_crm', sa.String(length=20), nullable=False),
    sa.Column('crm_schema', sa.JSON(), nullable=False),
    sa.Column('schema_fetched_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('connected_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('connected_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connected_by'], ['users.id'], name=op.f('fk_zoho_connections_connected_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_connections_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_connections')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_zoho_connections_organisation_id'))
    )
    op.create_table('zoho_field_mappings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mapper', sa.String(length=40), nullable=False),
    sa.Column('alix_field', sa.String(length=100), nullable=True),
    sa.Column('crm_field', sa.String(length=100), nullable=True),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_field_mappings_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_field_mappings'))
    )
    with op.batch_alter_table('zoho_field_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoho_field_mappings_connection_id'), ['connection_id'], unique=False)

    op.create_table('zoho_modules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('crm_module', sa.String(length=100), nullable=True),
    sa.Column('account_lookup', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_modules_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoho_modules')),
    sa.UniqueConstraint('connection_id', 'kind', name=op.f('uq_zoho_modules_connection_id_kind'))
    )


def downgrade() -> None:
    op.drop_table('zoho_modules')
    with op.batch_alter_table('zoho_field_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoho_field_mappings_connection_id'))

    op.drop_table('zoho_field_mappings')
    op.drop_table('zoho_connections')
    op.drop_table('zoho_access_tokens')
