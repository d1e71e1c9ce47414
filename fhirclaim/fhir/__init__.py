"""FHIR R4 mechanics: validation (R4B models + profiles), search parameters, paging, Bundles. No Flask."""
