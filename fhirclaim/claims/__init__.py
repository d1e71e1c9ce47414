"""The claim pipeline: FHIR ⇄ E-Klaim mapping, prechecks, the durable job state machine, BPJS-K side."""
