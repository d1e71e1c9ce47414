"""The web app with 100k claims on PostgreSQL: the worklist's status sort reads an index, a search by a part of the
patient's name (LIKE '%…%') a trigram index (pg_trgm; a plain index elsewhere, where it is not used), and a claim
page's webhook notifications (webapp/notifications.py) an index of the outbox by resource.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_worklist_status", "claim_worklist", ["tenant", "status", "claim_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension: the database's owner may
    op.create_index("ix_worklist_patient_trgm", "claim_worklist", ["patient_search"], postgresql_using="gin",
                    postgresql_ops={"patient_search": "gin_trgm_ops"})
    op.create_index("ix_webhook_delivery_resource", "webhook_delivery", ["resource_id", "resource_type"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_resource", "webhook_delivery")
    op.drop_index("ix_worklist_patient_trgm", "claim_worklist")
    op.drop_index("ix_worklist_status", "claim_worklist")
