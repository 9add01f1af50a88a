"""deliveries: the bounce that came back for this message

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 21:40:00

Issue 13 (bounces). A bounce or a provider event is tied to the delivery it answers (by
the VERP Return-Path token, else by our Message-ID): `bounced_at` is when the first one
arrived, `bounce` what it said ("hard 5.1.1 …", "complaint", "soft 4.2.2 …"). Set once, so
a report delivered twice changes nothing.
"""
from alembic import op
import sqlalchemy as sa

import bot.store.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch_op:
        batch_op.add_column(sa.Column('bounced_at', bot.store.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('bounce', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch_op:
        batch_op.drop_column('bounce')
        batch_op.drop_column('bounced_at')
