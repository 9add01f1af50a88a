"""users: each editor's own language and time zone for the dashboard

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 23:10:00

Both nullable: NULL means "the site's" (English; PRESSBOT_TIMEZONE), so an editor who
never chose follows the site when it changes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column('users', sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'timezone')
    op.drop_column('users', 'language')
