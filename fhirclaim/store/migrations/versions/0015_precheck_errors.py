"""A hospital's precheck warnings that stop its claims (`precheck_errors`, a JSON list of rule ids) in its tenant
settings; NULL = none (every warning lets the claim through).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant_settings") as batch:
        batch.add_column(sa.Column("precheck_errors", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant_settings") as batch:
        batch.drop_column("precheck_errors")
