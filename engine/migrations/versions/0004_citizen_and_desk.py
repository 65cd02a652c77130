"""ratings, drafts, substitutes; inbox seen time; folded applicant name for the inbox search

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _fold(text):
    """A frozen copy of engine.services.search.fold as of this revision (migrations never change)."""
    decomposed = unicodedata.normalize('NFD', text.replace('đ', 'd').replace('Đ', 'D'))
    return ''.join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def upgrade() -> None:
    op.create_table('rating',
    sa.Column('id', BigId, nullable=False),
    sa.Column('dossier_id', BigId, nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rated_by', BigId, nullable=True),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name='ck_rating_score'),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rated_by'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dossier_id')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_created_at'), ['created_at'], unique=False)

    op.create_table('draft',
    sa.Column('id', BigId, nullable=False),
    sa.Column('owner_id', BigId, nullable=False),
    sa.Column('procedure', sa.String(length=128), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.create_index('ix_draft_owner', ['owner_id', 'updated_at'], unique=False)

    op.create_table('substitution',
    sa.Column('id', BigId, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('substitute_id', BigId, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', BigId, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['substitute_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['cancelled_by'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('substitution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_substitution_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_substitution_substitute_id'), ['substitute_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbox_seen_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_name_folded', sa.String(length=255), nullable=True))
    _fold_existing_names()


def _fold_existing_names() -> None:
    dossier = sa.table('dossier', sa.column('id', BigId), sa.column('applicant_name', sa.String()),
                       sa.column('applicant_name_folded', sa.String()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(dossier.c.id, dossier.c.applicant_name)).all()
    if rows:
        bind.execute(dossier.update().where(dossier.c.id == sa.bindparam('row_id'))
                     .values(applicant_name_folded=sa.bindparam('folded')),
                     [{'row_id': row.id, 'folded': _fold(row.applicant_name or '')[:255]} for row in rows])


def downgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_created_at'))
    op.drop_table('rating')
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_index('ix_draft_owner')
    op.drop_table('draft')
    with op.batch_alter_table('substitution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_substitution_substitute_id'))
        batch_op.drop_index(batch_op.f('ix_substitution_user_id'))
    op.drop_table('substitution')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('inbox_seen_at')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('applicant_name_folded')
