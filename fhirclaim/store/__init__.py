"""Storage: SQLAlchemy models, the resource repository (versions, search index), jobs and outbox."""
