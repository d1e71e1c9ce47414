"""Alembic environment: always driven from `Database.migrate()`, which hands over its connection."""

from alembic import context

import fhirclaim.store.access  # noqa: F401  (auth, tenants, disclosures join Base.metadata)
import fhirclaim.store.jobs  # noqa: F401  (pipeline tables join Base.metadata)
import fhirclaim.store.outbox  # noqa: F401  (webhook tables join Base.metadata)
from fhirclaim.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
