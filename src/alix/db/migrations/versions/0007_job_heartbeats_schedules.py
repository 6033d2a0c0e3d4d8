"""job heartbeats (a dead runner's job is reclaimed) and schedules (periodic work as data)

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', alix.db.base.UtcDateTime(timezone=True), nullable=True))
    op.create_table('job_schedules',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('task', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lease_key', sa.String(length=200), nullable=True),
    sa.Column('period_seconds', sa.Integer(), nullable=False),
    sa.Column('next_run_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_enqueued_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_job_schedules_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_schedules'))
    )
    with op.batch_alter_table('job_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_job_schedules_next_run_at', ['next_run_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_job_schedules_next_run_at')
    op.drop_table('job_schedules')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
