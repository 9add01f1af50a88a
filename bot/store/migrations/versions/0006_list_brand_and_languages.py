"""mailing lists: brand (logo, colour, footer with postal address, copyright), languages, sections

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# All nullable: NULL means "the site's default" (bot.config brand_* settings) for the
# brand columns, and "every language" / "group by category" for the two lists.
_COLUMNS = (
    ('logo_url', sa.String(length=2048)),
    ('brand_color', sa.String(length=7)),
    ('footer_text', sa.Text()),
    ('copyright_holder', sa.String(length=200)),
    ('languages', sa.JSON()),
    ('sections', sa.JSON()),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column('mailing_lists', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mailing_lists') as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
