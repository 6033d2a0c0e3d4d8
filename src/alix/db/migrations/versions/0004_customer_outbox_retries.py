"""customer outbox: attempts, last error and retry time of the push; index of pending records

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', alix.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_customer_outbox_pending_records', ['organisation_id', 'entity', 'entity_id', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table('customer_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_outbox_pending_records', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_column('retry_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
