"""customers: customers, contact persons, addresses and their outbox

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

import alix.db.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('website', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_customers_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_org_name_key', ['organisation_id', 'name_key', 'id'], unique=False)

    op.create_table('addresses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('is_main', sa.Boolean(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=True),
    sa.Column('street', sa.String(length=250), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('province', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=30), nullable=True),
    sa.Column('country', sa.String(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('billing', 'shipping')", name=op.f('ck_addresses_kind')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_addresses_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_addresses_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_addresses_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('uq_addresses_one_main_per_kind', ['customer_id', 'kind'], unique=True, sqlite_where=sa.text('is_main'), postgresql_where=sa.text('is_main'))

    op.create_table('contact_persons',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('mobile', sa.String(length=50), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contact_persons_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_contact_persons_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_persons'))
    )
    with op.batch_alter_table('contact_persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_persons_customer_id'), ['customer_id'], unique=False)

    op.create_table('customer_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', alix.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('processed_at', alix.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_customer_outbox_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_customer_outbox_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_outbox'))
    )
    with op.batch_alter_table('customer_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_customer_outbox_entity', ['entity', 'entity_id'], unique=False)
        batch_op.create_index('ix_customer_outbox_pending', ['organisation_id', 'status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('customer_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_outbox_pending')
        batch_op.drop_index('ix_customer_outbox_entity')

    op.drop_table('customer_outbox')
    with op.batch_alter_table('contact_persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_persons_customer_id'))

    op.drop_table('contact_persons')
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('uq_addresses_one_main_per_kind', sqlite_where=sa.text('is_main'), postgresql_where=sa.text('is_main'))
        batch_op.drop_index(batch_op.f('ix_addresses_customer_id'))

    op.drop_table('addresses')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_org_name_key')

    op.drop_table('customers')
