"""share_posts: public engagement counts fetched back from the platform (issue 14)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 22:27:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL count: the platform does not give it (Telegram gives bots none; X no views
    # to every app), never "zero".
    with op.batch_alter_table('share_posts') as batch:
        batch.add_column(sa.Column('likes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reposts', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('replies', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('views', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('metrics_at', sa.DateTime(timezone=True), nullable=True))
        # When the next fetch is due (1 h, 6 h, 24 h, 72 h after sending; later after a
        # 429); NULL: no more fetches.
        batch.add_column(sa.Column('metrics_next_at', sa.DateTime(timezone=True), nullable=True))
        # Why there are no counts, or the last fetch's error.
        batch.add_column(sa.Column('metrics_note', sa.Text(), nullable=True))
    op.create_index('ix_share_posts_metrics_next_at', 'share_posts', ['metrics_next_at'])
    # Posts sent before this release: one fetch soon, then the schedule from their sent_at.
    op.execute("UPDATE share_posts SET metrics_next_at = sent_at "
               "WHERE state = 'sent' AND remote_id IS NOT NULL AND sent_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index('ix_share_posts_metrics_next_at', table_name='share_posts')
    with op.batch_alter_table('share_posts') as batch:
        for name in ('metrics_note', 'metrics_next_at', 'metrics_at', 'views', 'replies',
                     'reposts', 'likes'):
            batch.drop_column(name)
