"""A/B subject test of campaigns: which subject each delivery got, clicks per subject

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 04:00:00

deliveries.subject_variant: NULL for editions without a test; "a" / "b" for the sample,
"w" for the rest (they get the winner's subject). engagement_counts.variant: the subject
the counted message had ('' for editions without a test, and for every count kept before
this migration), part of the row's key so A's and B's clicks add up apart.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deliveries', sa.Column('subject_variant', sa.String(length=1), nullable=True))
    # batch: SQLite rebuilds the table to change a unique constraint; PostgreSQL alters it.
    with op.batch_alter_table('engagement_counts') as batch:
        batch.add_column(sa.Column('variant', sa.String(length=1), nullable=False,
                                   server_default=''))
        batch.drop_constraint('uq_engagement_counts', type_='unique')
        batch.create_unique_constraint('uq_engagement_counts',
                                       ['edition_id', 'kind', 'url', 'variant'])


def downgrade() -> None:
    # The per-subject rows of a link fold back into one.
    conn = op.get_bind()
    counts = sa.table('engagement_counts', sa.column('id', sa.Integer),
                      sa.column('edition_id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('url', sa.Text), sa.column('variant', sa.String),
                      sa.column('count', sa.Integer))
    groups = conn.execute(sa.select(counts.c.edition_id, counts.c.kind, counts.c.url,
                                    sa.func.sum(counts.c.count), sa.func.min(counts.c.id))
                          .group_by(counts.c.edition_id, counts.c.kind, counts.c.url)
                          .having(sa.func.count() > 1)).all()
    for edition_id, kind, url, total, keep in groups:
        same = ((counts.c.edition_id == edition_id) & (counts.c.kind == kind)
                & (counts.c.url == url))
        conn.execute(counts.delete().where(same & (counts.c.id != keep)))
        conn.execute(counts.update().where(counts.c.id == keep).values(count=total))
    with op.batch_alter_table('engagement_counts') as batch:
        batch.drop_constraint('uq_engagement_counts', type_='unique')
        batch.create_unique_constraint('uq_engagement_counts', ['edition_id', 'kind', 'url'])
        batch.drop_column('variant')
    op.drop_column('deliveries', 'subject_variant')
