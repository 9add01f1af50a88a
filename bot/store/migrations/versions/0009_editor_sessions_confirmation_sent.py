"""editor sessions (logout ends a session server-side), subscribers.confirmation_sent_at
(a pending address gets at most one confirmation mail per N hours) — issue 11

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:35:00
"""
from alembic import op
import sqlalchemy as sa
import bot.store.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('editor_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('editor_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_editor_sessions_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmation_sent_at',
                                      bot.store.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('confirmation_sent_at')
    with op.batch_alter_table('editor_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_editor_sessions_user_id'))
    op.drop_table('editor_sessions')
