"""articles.image_alt: the feature image's own description (alt text or caption)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 21:36:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The digest's lead image needs real alt text: the image's own, never the headline.
    op.add_column('articles', sa.Column('image_alt', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('articles') as batch:
        batch.drop_column('image_alt')
