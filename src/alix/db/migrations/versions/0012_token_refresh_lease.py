"""a lease on the Zoho access-token row: SQLite refreshes without holding the write lock

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('zoho_access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refreshing_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('refreshing_until', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('zoho_access_tokens', schema=None) as batch_op:
        batch_op.drop_column('refreshing_until')
        batch_op.drop_column('refreshing_by')
