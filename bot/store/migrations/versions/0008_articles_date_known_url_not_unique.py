"""articles: published_known flag; the canonical URL stops being unique

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:35:00

Issue 10. A feed may give several items (distinct guids) the same link: a podcast's
episodes all pointing at the show page, items that differ only by #fragment. Within a
source a distinct guid is a distinct article, so two rows may share a URL; the URL keeps a
plain index for cross-source dedup lookups. `published_known` is false when no date was
found and `published_at` holds the time the article was first seen.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# 0001 created the URL constraint without a name: PostgreSQL calls it articles_url_key;
# SQLite has no name at all, so batch mode is told how to name it to find it.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _url_constraint_name() -> str:
    return "articles_url_key" if op.get_bind().dialect.name == "postgresql" else "uq_articles_url"


def upgrade() -> None:
    with op.batch_alter_table('articles', naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column('published_known', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.drop_constraint(_url_constraint_name(), type_='unique')
        batch_op.create_index('ix_articles_url', ['url'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('articles', naming_convention=_NAMING) as batch_op:
        batch_op.drop_index('ix_articles_url')
        batch_op.create_unique_constraint(_url_constraint_name(), ['url'])
        batch_op.drop_column('published_known')
