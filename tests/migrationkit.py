"""The migration tests' one way to take a database down to a revision (`Database.migrate()` brings it back up)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from fhirclaim.store.db import MIGRATIONS, Database


def downgrade(database: Database, revision: str) -> None:
    """Run the migrations' downgrades down to `revision`, committed."""
    with database.engine.connect() as connection:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()
