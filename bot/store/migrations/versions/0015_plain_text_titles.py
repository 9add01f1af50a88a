"""articles: titles stored with markup before issue 10 become plain text

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 22:25:00

An RSS title feedparser took for plain text because it held a tag it would not allow
(`<script>…</script>Budget vote <img …> ends in tie`) was stored with its tags and
reached emails and posts as tag text. Only titles that look like markup (a closing tag,
or a tag with attributes: the rule bot.ingest.feeds now applies) are cleaned again.
"""
import re

import sqlalchemy as sa
from alembic import op

from bot.domain.articles import clean_title

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_MARKUP = re.compile(r"</[A-Za-z][\w-]*\s*>|<[A-Za-z][\w-]*\s[^<>]*=[^<>]*>")


def upgrade() -> None:
    articles = sa.table('articles', sa.column('id', sa.Integer), sa.column('title', sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.select(articles.c.id, articles.c.title).where(
        articles.c.title.like('%<%>%'))).all()
    for id_, title in rows:
        if _MARKUP.search(title or ""):
            cleaned = clean_title(title)
            if cleaned:
                conn.execute(articles.update().where(articles.c.id == id_).values(title=cleaned))


def downgrade() -> None:
    pass  # the markup is gone for good, as it should be
