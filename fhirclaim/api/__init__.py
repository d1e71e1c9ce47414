"""HTTP layer: Flask blueprints that turn requests into calls of the domain packages and outcomes into responses."""
