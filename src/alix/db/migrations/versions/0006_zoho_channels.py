"""zoho notification channels (token kept as a digest)

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zoho_channels',
    sa.Column('channel_id', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('expires_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_channels_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_channels_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_zoho_channels'))
    )
    with op.batch_alter_table('zoho_channels', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_channels_connection', ['connection_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('zoho_channels', schema=None) as batch_op:
        batch_op.drop_index('ix_zoho_channels_connection')

    op.drop_table('zoho_channels')
