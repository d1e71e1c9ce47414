"""Build fhirclaim/fhir/data/search-parameters.json.

The financing types come from the official R4 SearchParameter definitions in
../shared/reference/fhir/r4-core-defs/; the medical-record and system types, which that folder does not hold,
from the table below (the R4 parameters of those types that SIMRS queries use). FHIRPath expressions are
reduced to what the indexer evaluates: dotted paths (choice types resolved by prefix), plus a reference target
filter for `.where(resolve() is X)`.

    python tools/build_search_parameters.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFS = ROOT.parent / "shared" / "reference" / "fhir" / "r4-core-defs"
OUT = ROOT / "fhirclaim" / "fhir" / "data" / "search-parameters.json"

# name, type, paths, reference targets (None = any)
EXTRA: dict[str, list[tuple]] = {
    "Patient": [
        ("identifier", "token", ["Patient.identifier"]), ("name", "string", ["Patient.name"]),
        ("family", "string", ["Patient.name.family"]), ("given", "string", ["Patient.name.given"]),
        ("birthdate", "date", ["Patient.birthDate"]), ("gender", "token", ["Patient.gender"]),
        ("active", "token", ["Patient.active"]), ("telecom", "token", ["Patient.telecom"]),
        ("address", "string", ["Patient.address"]),
        ("organization", "reference", ["Patient.managingOrganization"], ["Organization"]),
    ],
    "Encounter": [
        ("identifier", "token", ["Encounter.identifier"]), ("status", "token", ["Encounter.status"]),
        ("class", "token", ["Encounter.class"]), ("type", "token", ["Encounter.type"]),
        ("patient", "reference", ["Encounter.subject"], ["Patient"]),
        ("subject", "reference", ["Encounter.subject"], ["Patient", "Group"]),
        ("date", "date", ["Encounter.period"]), ("account", "reference", ["Encounter.account"], ["Account"]),
        ("participant", "reference", ["Encounter.participant.individual"], None),
        ("practitioner", "reference", ["Encounter.participant.individual"], ["Practitioner"]),
        ("service-provider", "reference", ["Encounter.serviceProvider"], ["Organization"]),
        ("location", "reference", ["Encounter.location.location"], ["Location"]),
        ("reason-code", "token", ["Encounter.reasonCode"]),
        ("part-of", "reference", ["Encounter.partOf"], ["Encounter"]),
    ],
    "Condition": [
        ("identifier", "token", ["Condition.identifier"]), ("code", "token", ["Condition.code"]),
        ("patient", "reference", ["Condition.subject"], ["Patient"]),
        ("subject", "reference", ["Condition.subject"], ["Patient", "Group"]),
        ("encounter", "reference", ["Condition.encounter"], ["Encounter"]),
        ("clinical-status", "token", ["Condition.clinicalStatus"]),
        ("verification-status", "token", ["Condition.verificationStatus"]),
        ("category", "token", ["Condition.category"]), ("onset-date", "date", ["Condition.onset"]),
        ("recorded-date", "date", ["Condition.recordedDate"]),
    ],
    "Procedure": [
        ("identifier", "token", ["Procedure.identifier"]), ("code", "token", ["Procedure.code"]),
        ("patient", "reference", ["Procedure.subject"], ["Patient"]),
        ("subject", "reference", ["Procedure.subject"], ["Patient", "Group"]),
        ("encounter", "reference", ["Procedure.encounter"], ["Encounter"]),
        ("date", "date", ["Procedure.performed"]), ("status", "token", ["Procedure.status"]),
        ("category", "token", ["Procedure.category"]),
        ("performer", "reference", ["Procedure.performer.actor"], None),
    ],
    "Observation": [
        ("identifier", "token", ["Observation.identifier"]), ("code", "token", ["Observation.code"]),
        ("patient", "reference", ["Observation.subject"], ["Patient"]),
        ("subject", "reference", ["Observation.subject"], None),
        ("encounter", "reference", ["Observation.encounter"], ["Encounter"]),
        ("date", "date", ["Observation.effective"]), ("status", "token", ["Observation.status"]),
        ("category", "token", ["Observation.category"]),
        ("value-quantity", "quantity", ["Observation.valueQuantity"]),
        ("value-concept", "token", ["Observation.valueCodeableConcept"]),
    ],
    "Practitioner": [
        ("identifier", "token", ["Practitioner.identifier"]), ("name", "string", ["Practitioner.name"]),
        ("family", "string", ["Practitioner.name.family"]), ("given", "string", ["Practitioner.name.given"]),
        ("active", "token", ["Practitioner.active"]), ("gender", "token", ["Practitioner.gender"]),
    ],
    "PractitionerRole": [
        ("identifier", "token", ["PractitionerRole.identifier"]),
        ("practitioner", "reference", ["PractitionerRole.practitioner"], ["Practitioner"]),
        ("organization", "reference", ["PractitionerRole.organization"], ["Organization"]),
        ("role", "token", ["PractitionerRole.code"]), ("specialty", "token", ["PractitionerRole.specialty"]),
        ("active", "token", ["PractitionerRole.active"]),
    ],
    "Organization": [
        ("identifier", "token", ["Organization.identifier"]), ("name", "string", ["Organization.name"]),
        ("type", "token", ["Organization.type"]), ("active", "token", ["Organization.active"]),
        ("partof", "reference", ["Organization.partOf"], ["Organization"]),
    ],
    "Location": [
        ("identifier", "token", ["Location.identifier"]), ("name", "string", ["Location.name"]),
        ("organization", "reference", ["Location.managingOrganization"], ["Organization"]),
        ("status", "token", ["Location.status"]), ("type", "token", ["Location.type"]),
        ("partof", "reference", ["Location.partOf"], ["Location"]),
    ],
    "MedicationRequest": [
        ("identifier", "token", ["MedicationRequest.identifier"]),
        ("patient", "reference", ["MedicationRequest.subject"], ["Patient"]),
        ("subject", "reference", ["MedicationRequest.subject"], ["Patient", "Group"]),
        ("encounter", "reference", ["MedicationRequest.encounter"], ["Encounter"]),
        ("status", "token", ["MedicationRequest.status"]), ("intent", "token", ["MedicationRequest.intent"]),
        ("authoredon", "date", ["MedicationRequest.authoredOn"]),
        ("requester", "reference", ["MedicationRequest.requester"], None),
        ("code", "token", ["MedicationRequest.medicationCodeableConcept"]),
        ("medication", "reference", ["MedicationRequest.medicationReference"], ["Medication"]),
    ],
    "MedicationDispense": [
        ("identifier", "token", ["MedicationDispense.identifier"]),
        ("patient", "reference", ["MedicationDispense.subject"], ["Patient"]),
        ("subject", "reference", ["MedicationDispense.subject"], ["Patient", "Group"]),
        ("context", "reference", ["MedicationDispense.context"], ["Encounter", "EpisodeOfCare"]),
        ("status", "token", ["MedicationDispense.status"]),
        ("prescription", "reference", ["MedicationDispense.authorizingPrescription"], ["MedicationRequest"]),
        ("whenhandedover", "date", ["MedicationDispense.whenHandedOver"]),
        ("code", "token", ["MedicationDispense.medicationCodeableConcept"]),
        ("performer", "reference", ["MedicationDispense.performer.actor"], None),
    ],
    "DiagnosticReport": [
        ("identifier", "token", ["DiagnosticReport.identifier"]),
        ("patient", "reference", ["DiagnosticReport.subject"], ["Patient"]),
        ("subject", "reference", ["DiagnosticReport.subject"], None),
        ("encounter", "reference", ["DiagnosticReport.encounter"], ["Encounter"]),
        ("status", "token", ["DiagnosticReport.status"]), ("code", "token", ["DiagnosticReport.code"]),
        ("category", "token", ["DiagnosticReport.category"]), ("date", "date", ["DiagnosticReport.effective"]),
        ("issued", "date", ["DiagnosticReport.issued"]),
        ("based-on", "reference", ["DiagnosticReport.basedOn"], None),
        ("result", "reference", ["DiagnosticReport.result"], ["Observation"]),
    ],
    "Composition": [
        ("identifier", "token", ["Composition.identifier"]),
        ("patient", "reference", ["Composition.subject"], ["Patient"]),
        ("subject", "reference", ["Composition.subject"], None),
        ("encounter", "reference", ["Composition.encounter"], ["Encounter"]),
        ("type", "token", ["Composition.type"]), ("category", "token", ["Composition.category"]),
        ("status", "token", ["Composition.status"]), ("date", "date", ["Composition.date"]),
        ("author", "reference", ["Composition.author"], None),
    ],
    "DocumentReference": [
        ("identifier", "token", ["DocumentReference.identifier", "DocumentReference.masterIdentifier"]),
        ("patient", "reference", ["DocumentReference.subject"], ["Patient"]),
        ("subject", "reference", ["DocumentReference.subject"], None),
        ("encounter", "reference", ["DocumentReference.context.encounter"], ["Encounter"]),
        ("type", "token", ["DocumentReference.type"]), ("category", "token", ["DocumentReference.category"]),
        ("status", "token", ["DocumentReference.status"]), ("date", "date", ["DocumentReference.date"]),
        ("author", "reference", ["DocumentReference.author"], None),
    ],
    "CoverageEligibilityRequest": [
        ("identifier", "token", ["CoverageEligibilityRequest.identifier"]),
        ("patient", "reference", ["CoverageEligibilityRequest.patient"], ["Patient"]),
        ("status", "token", ["CoverageEligibilityRequest.status"]),
        ("created", "date", ["CoverageEligibilityRequest.created"]),
        ("provider", "reference", ["CoverageEligibilityRequest.provider"], None),
        ("enterer", "reference", ["CoverageEligibilityRequest.enterer"], None),
        ("facility", "reference", ["CoverageEligibilityRequest.facility"], ["Location"]),
    ],
    "CoverageEligibilityResponse": [
        ("identifier", "token", ["CoverageEligibilityResponse.identifier"]),
        ("patient", "reference", ["CoverageEligibilityResponse.patient"], ["Patient"]),
        ("status", "token", ["CoverageEligibilityResponse.status"]),
        ("created", "date", ["CoverageEligibilityResponse.created"]),
        ("request", "reference", ["CoverageEligibilityResponse.request"], ["CoverageEligibilityRequest"]),
        ("outcome", "token", ["CoverageEligibilityResponse.outcome"]),
        ("insurer", "reference", ["CoverageEligibilityResponse.insurer"], ["Organization"]),
        ("requestor", "reference", ["CoverageEligibilityResponse.requestor"], None),
        ("disposition", "string", ["CoverageEligibilityResponse.disposition"]),
    ],
    "Subscription": [
        ("status", "token", ["Subscription.status"]), ("criteria", "string", ["Subscription.criteria"]),
        ("type", "token", ["Subscription.channel.type"]), ("url", "uri", ["Subscription.channel.endpoint"]),
        ("payload", "token", ["Subscription.channel.payload"]), ("contact", "token", ["Subscription.contact"]),
    ],
    "AuditEvent": [
        ("date", "date", ["AuditEvent.recorded"]), ("type", "token", ["AuditEvent.type"]),
        ("subtype", "token", ["AuditEvent.subtype"]), ("action", "token", ["AuditEvent.action"]),
        ("outcome", "token", ["AuditEvent.outcome"]), ("agent", "reference", ["AuditEvent.agent.who"], None),
        ("entity", "reference", ["AuditEvent.entity.what"], None),
        ("source", "reference", ["AuditEvent.source.observer"], None),
        ("site", "token", ["AuditEvent.source.site"]),
    ],
    "Provenance": [
        ("target", "reference", ["Provenance.target"], None),
        ("patient", "reference", ["Provenance.target"], ["Patient"]),
        ("agent", "reference", ["Provenance.agent.who"], None),
        ("recorded", "date", ["Provenance.recorded"]),
        ("entity", "reference", ["Provenance.entity.what"], None),
    ],
}

# Ours, not R4's. The signed claim Bundle is found by the Claim it carries (SPEC §6), and by the BPJS card number
# of its Coverage (BPJS-K looks for a patient's other claims in every hospital's Bundles). PurificationDecision is
# SATUSEHAT's non-FHIR resource (SPEC §7); its parameters are named after its elements.
OWN = {
    "Bundle": [
        ("claim", "reference", ["Bundle.entry.resource.ofType(Claim)"], ["Claim"]),
        ("subscriber-id", "token", ["Bundle.entry.resource.ofType(Coverage).subscriberId",
                                    "Bundle.entry.resource.ofType(Coverage).identifier"]),
    ],
    "PurificationDecision": [
        ("identifier", "token", ["PurificationDecision.identifier"]),
        ("claimResponse", "reference", ["PurificationDecision.claimResponse"], ["ClaimResponse"]),
        ("status", "token", ["PurificationDecision.status"]),
        ("created", "date", ["PurificationDecision.created"]),
        ("insurer", "reference", ["PurificationDecision.insurer"], ["Organization"]),
        ("provider", "reference", ["PurificationDecision.provider"], ["Organization"]),
    ],
}

WHERE_RESOLVE = re.compile(r"^(?P<path>[\w.]+)\.where\(resolve\(\) is (?P<type>\w+)\)$")
AS_TYPE = re.compile(r"^\((?P<path>[\w.]+) as \w+\)$")


def simplify(expression: str) -> tuple[list[str], list[str] | None] | None:
    """Reduce an R4 FHIRPath expression to dotted paths (+ a target filter), or None if out of reach."""
    paths, target = [], None
    for part in (p.strip() for p in expression.split("|")):
        if m := WHERE_RESOLVE.match(part):
            paths.append(m["path"])
            target = [m["type"]]
        elif m := AS_TYPE.match(part):
            paths.append(m["path"])
        elif re.fullmatch(r"[\w.]+", part) and "[" not in part:
            paths.append(part)
        else:
            return None
    return paths, target


def main() -> None:
    table: dict[str, dict[str, dict]] = {}
    for path in sorted(DEFS.glob("SearchParameter-*.json")):
        definition = json.loads(path.read_text())
        base = definition["base"][0]
        if base == "Resource":
            continue  # the common parameters are columns, handled by the search engine itself
        simplified = simplify(definition.get("expression") or "")
        if simplified is None:
            continue
        paths, target = simplified
        table.setdefault(base, {})[definition["code"]] = {
            "type": definition["type"], "paths": paths,
            "targets": target or definition.get("target"),
            "url": definition.get("url"),
        }
    for group in (EXTRA, OWN):
        for base, params in group.items():
            for name, kind, paths, *targets in params:
                table.setdefault(base, {})[name] = {
                    "type": kind, "paths": paths, "targets": targets[0] if targets else None,
                    "url": None if group is OWN else f"http://hl7.org/fhir/SearchParameter/{base}-{name}",
                }
    for base in table:  # own parameters carry this server's canonical
        for name, spec in table[base].items():
            if spec["url"] is None:
                spec["url"] = f"https://fhirclaim.org/fhir/SearchParameter/{base}-{name}"
    OUT.write_text(json.dumps({
        "_source": "R4 SearchParameter definitions (hl7.fhir.r4.core 4.0.1) for the financing types; "
                   "tools/build_search_parameters.py for the rest",
        "parameters": table,
    }, indent=1, sort_keys=True) + "\n")
    print(f"{sum(len(v) for v in table.values())} parameters for {len(table)} types → {OUT}")


if __name__ == "__main__":
    main()
