"""Build fhirclaim/fhir/data/search-parameters.json.

    python tools/build_search_parameters.py DEFINITIONS_DIR [--out FILE]

DEFINITIONS_DIR holds the official FHIR R4 (4.0.1) SearchParameter definitions, in either form HL7 publishes:
`search-parameters.json`, the Bundle of every R4 SearchParameter in the FHIR R4 definitions download
(https://hl7.org/fhir/R4/definitions.json.zip, unzipped), or one `SearchParameter-<Type>-<code>.json` file per
parameter, as in the `package/` folder of the hl7.fhir.r4.core 4.0.1 NPM package. Nothing else is read.

The financing types (FROM_DEFINITIONS) come from those definitions; the medical-record and system types from the
table below (the R4 parameters of those types that SIMRS queries use). FHIRPath expressions are reduced to what
the indexer evaluates: dotted paths (choice types resolved by prefix), plus a reference target filter for
`.where(resolve() is X)`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fhirclaim" / "fhir" / "data" / "search-parameters.json"

# The types whose parameters are taken from the R4 definitions (the common `Resource` ones are columns, handled by
# the search engine itself, and every other type is either in EXTRA or not stored).
FROM_DEFINITIONS = frozenset({"Account", "Bundle", "ChargeItem", "Claim", "ClaimResponse", "Coverage", "Invoice"})

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

# Ours, not R4's. The signed claim Bundle is found by the Claim it carries, and by the BPJS card number of its
# Coverage (BPJS-K looks for a patient's other claims in every hospital's Bundles). PurificationDecision is
# SATUSEHAT's non-FHIR resource; its parameters are named after its elements.
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


def definitions(folder: Path) -> Iterator[dict]:
    """The SearchParameter resources of `folder` (see the module docstring for the two forms)."""
    bundle = folder / "search-parameters.json"
    if bundle.is_file():
        for entry in json.loads(bundle.read_text(encoding="utf-8")).get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "SearchParameter":
                yield resource
        return
    files = sorted(folder.glob("SearchParameter-*.json"))
    if not files:
        raise SystemExit(f"{folder}: neither search-parameters.json nor SearchParameter-*.json files "
                         "(the FHIR R4 definitions are expected; see the docstring)")
    for path in files:
        yield json.loads(path.read_text(encoding="utf-8"))


def own_part(expression: str, base: str) -> str:
    """The part of a parameter's expression about `base` (a parameter of several types joins one per type)."""
    return " | ".join(part.strip() for part in expression.split("|")
                      if part.strip().lstrip("(").startswith(f"{base}."))


def build(folder: Path) -> dict[str, dict[str, dict]]:
    table: dict[str, dict[str, dict]] = {}
    for definition in definitions(folder):
        bases = definition.get("base", [])
        for base in (b for b in bases if b in FROM_DEFINITIONS):
            expression = definition.get("expression") or ""
            simplified = simplify(own_part(expression, base) if len(bases) > 1 else expression)
            if simplified is None:
                continue
            paths, target = simplified
            table.setdefault(base, {})[definition["code"]] = {
                "type": definition["type"], "paths": paths,
                "targets": target or definition.get("target"),
                "url": definition.get("url"),
            }
    if missing := FROM_DEFINITIONS - set(table):
        raise SystemExit(f"{folder}: no R4 search parameter for {', '.join(sorted(missing))}")
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
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("definitions", type=Path,
                        help="folder with the FHIR R4 definitions: search-parameters.json or SearchParameter-*.json")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    if not args.definitions.is_dir():
        parser.error(f"{args.definitions} is not a folder")
    table = build(args.definitions)
    args.out.write_text(json.dumps({
        "_source": "R4 SearchParameter definitions (hl7.fhir.r4.core 4.0.1) for the financing types; "
                   "tools/build_search_parameters.py for the rest",
        "parameters": table,
    }, indent=1, sort_keys=True) + "\n")
    print(f"{sum(len(v) for v in table.values())} parameters for {len(table)} types → {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
