"""fhirclaim — FHIR-native claim facade for JKN / BPJS Kesehatan."""

__version__ = "0.1.0"
