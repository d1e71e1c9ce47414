"""INA-CBG grouper emulator: deterministic, table-driven (tables in data/)."""
