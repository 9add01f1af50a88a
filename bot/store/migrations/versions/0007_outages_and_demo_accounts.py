"""outages (last failure of each outside system, since when) and demo social accounts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per outside system that is failing now ("smtp", "redis", "account:3",
    # "source:7"); set on failure, deleted on the next success. `since` is the first
    # failure of the current outage, `last_at` and `error` the latest.
    op.create_table(
        'outages',
        sa.Column('system', sa.String(length=100), primary_key=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False, server_default='1'),
    )
    # The first run's outbox accounts: they never post for real, whatever credentials the
    # settings gain later (real accounts are added explicitly).
    op.add_column('social_accounts', sa.Column('demo', sa.Boolean(), nullable=False,
                                               server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('social_accounts') as batch:
        batch.drop_column('demo')
    op.drop_table('outages')
