"""Engagement (issue 14): click and open counts per edition, an opt-in click history

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 22:25:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Per-subscriber click history is personal data: off unless the list turns it on (GDPR).
    op.add_column('mailing_lists', sa.Column('track_subscriber_clicks', sa.Boolean(),
                                             nullable=False, server_default=sa.false()))
    # Aggregates only: one row per edition × kind × link ('' for opens), bumped by the
    # dispatcher tick from the buffer the redirect writes to.
    op.create_table(
        'engagement_counts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('edition_id', sa.Integer(), sa.ForeignKey('editions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('url', sa.Text(), nullable=False, server_default=''),
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('articles.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('count', sa.Integer(), nullable=False, server_default='0'),
        sa.UniqueConstraint('edition_id', 'kind', 'url', name='uq_engagement_counts'),
    )
    op.create_index('ix_engagement_counts_article_id', 'engagement_counts', ['article_id'])
    op.create_table(
        'subscriber_clicks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('edition_id', sa.Integer(), sa.ForeignKey('editions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('subscriber_id', sa.Integer(),
                  sa.ForeignKey('subscribers.id', ondelete='CASCADE'), nullable=False, index=True),
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('articles.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('subscriber_clicks')
    op.drop_index('ix_engagement_counts_article_id', table_name='engagement_counts')
    op.drop_table('engagement_counts')
    with op.batch_alter_table('mailing_lists') as batch:
        batch.drop_column('track_subscriber_clicks')
