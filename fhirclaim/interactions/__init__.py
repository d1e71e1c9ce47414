"""The FHIR interactions over storage (the DAO layer of HAPI FHIR, Medplum's fhir-router): `FhirService` (one
method per interaction, listeners and interceptors inside the writing transaction), transactions and batches,
Bundles of search and history results, and the CapabilityStatement.

Above `store/` (it reads and writes through the repository and the unit of work) and above `fhir/` (the pure
FHIR R4 mechanics it validates, parses and indexes with); below the domain packages and the HTTP layer. No Flask.
"""
