"""who or what started each Zoho CRM sync run (a person, the schedule, a notification, the CLI)

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('zoho_sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_by', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('zoho_sync_runs', schema=None) as batch_op:
        batch_op.drop_column('started_by')
