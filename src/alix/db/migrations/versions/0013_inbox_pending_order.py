"""zoho inbox: index of pending hints in id order, so a round reads only the rows it needs

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('zoho_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_zoho_inbox_pending_order', ['connection_id', 'id'], unique=False, sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('zoho_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_zoho_inbox_pending_order', sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))
