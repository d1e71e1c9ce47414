"""Storage: SQLAlchemy models, the resource repository (versions, search index), jobs and outbox, and one repository
per other table; the only package that speaks SQL (the E-Klaim emulator keeps its own database)."""
