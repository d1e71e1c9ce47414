"""FHIR R4 mechanics, pure: JSON parsing, validation (R4B models + profiles), search-parameter parsing, the values a
resource is indexed by, paths, dates, money, outcomes. It knows nothing of storage: it imports nothing from
`store/` or `interactions/` (tests/test_layering.py), and no Flask."""
