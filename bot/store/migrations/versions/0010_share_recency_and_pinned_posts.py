"""social accounts: recency window override; share posts: pinned by an editor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:40:00

Issue 10 (scheduling). `social_accounts.recency_hours` overrides
PRESSBOT_SHARE_RECENCY_HOURS for one account (NULL: the setting). `share_posts.pinned` is
true for a post whose time an editor chose: newest-first slotting moves automatically
slotted posts later to let a fresher article go first, never a pinned one. The index on
(account_id, scheduled_at) serves the scheduler's look at one account's slots.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('social_accounts') as batch_op:
        batch_op.add_column(sa.Column('recency_hours', sa.Integer(), nullable=True))
    with op.batch_alter_table('share_posts') as batch_op:
        batch_op.add_column(sa.Column('pinned', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index('ix_share_posts_account_slot', ['account_id', 'scheduled_at'])


def downgrade() -> None:
    with op.batch_alter_table('share_posts') as batch_op:
        batch_op.drop_index('ix_share_posts_account_slot')
        batch_op.drop_column('pinned')
    with op.batch_alter_table('social_accounts') as batch_op:
        batch_op.drop_column('recency_hours')
