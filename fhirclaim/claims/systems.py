"""The URLs a JKN claim speaks in: identifier systems, code systems and extensions.

Kemkes/SATUSEHAT names are used wherever SATUSEHAT defines one (reference/satusehat/terminology); this server's own
names live under its canonical base `https://fhirclaim.org/fhir` (architecture §3) and are published in `profiles/`.
"""

from __future__ import annotations

import re

FHIRCLAIM_BASE = "https://fhirclaim.org/fhir"

# --- identifiers ---------------------------------------------------------------------------------------------
# SEP number: http://sys-ids.kemkes.go.id/claim-number/{org}; the org part differs by sender, so match the prefix.
SEP_SYSTEM = re.compile(r"^https?://sys-ids\.kemkes\.go\.id/claim-number/")
CARD_SYSTEM = re.compile(r"^https?://sys-ids\.kemkes\.go\.id/insurance-subscriber/")
# A medical-record number: SATUSEHAT has no fixed system for it, hospitals use sys-ids .../mr/{org} or type MR.
MR_SYSTEM = re.compile(r"^https?://sys-ids\.kemkes\.go\.id/(mr|medical-record)/")
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

# --- code systems ------------------------------------------------------------------------------------------
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
UCUM = "http://unitsofmeasure.org"
ISO4217 = "urn:iso:std:iso:4217"

KEMKES_INFO_CATEGORY = "http://terminology.kemkes.go.id/CodeSystem/claiminformationcategory"
KEMKES_UPGRADE_INDICATOR = "http://terminology.kemkes.go.id/CodeSystem/upgradeClassIndicator"
TARIFF_CLASS = "http://terminology.kemkes.go.id/CodeSystem/tariffClass"
INACBG = "http://terminology.kemkes.go.id/CodeSystem/inacbg-v5"
INACBG_SPECIAL_CMG = "http://terminology.kemkes.go.id/CodeSystem/inacbg-special-cmg-v5"
INACBG_SAC = "http://terminology.kemkes.go.id/CodeSystem/inacbg-sac-v5"

# --- this server's own ---------------------------------------------------------------------------------------
INFO_CATEGORY = f"{FHIRCLAIM_BASE}/CodeSystem/claim-information-category"
CLAIMRESPONSE_SUBTYPE = f"{FHIRCLAIM_BASE}/CodeSystem/claimresponse-subtype"
EKLAIM_ERROR = f"{FHIRCLAIM_BASE}/CodeSystem/eklaim-error"
INACBG_ERROR_GROUP = f"{FHIRCLAIM_BASE}/CodeSystem/inacbg-error-group"
PRECHECK_RULE = f"{FHIRCLAIM_BASE}/CodeSystem/precheck-rule"
SPECIAL_CMG_OPTION_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/special-cmg-option"

# --- extensions ----------------------------------------------------------------------------------------------
PACKAGE_EXT = "https://fhir.kemkes.go.id/r4/StructureDefinition/Package"
