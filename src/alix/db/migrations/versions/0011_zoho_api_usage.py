"""zoho API calls and credits per connection, added by every process (web and workers)

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zoho_api_usage',
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('credits', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['zoho_connections.id'], name=op.f('fk_zoho_api_usage_connection_id_zoho_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_zoho_api_usage_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_zoho_api_usage'))
    )


def downgrade() -> None:
    op.drop_table('zoho_api_usage')
