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
# The number E-Klaim's generate_claim_number gave a claim that has no SEP (COVID-19, KIPI, newborn, co-incidence):
# written on the Claim by the server, the claim's nomor_sep from then on (docs/eklaim-5.10-fields.md).
EKLAIM_CLAIM_NUMBER = f"{FHIRCLAIM_BASE}/sid/eklaim-claim-number"
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

# --- E-Klaim 5.10 (iDRG) ---------------------------------------------------------------------------------------
# The Indonesian modifications iDRG codes in (ICD-10-IM, ICD-9-CM-IM). Kemenkes publishes no FHIR canonical for
# them yet, so this server names them under its own base (profiles/CodeSystem-icd-10-im.json, -icd-9-cm-im.json,
# fragments holding the IM-only codes known to INA-CBG's refusal, E2101 "IM tidak berlaku"). A diagnosis or
# procedure CodeableConcept may carry both: the IM coding is what iDRG gets, the ICD-10 / ICD-9-CM coding what
# INA-CBG gets (docs/eklaim-5.10-fields.md).
ICD10_IM = f"{FHIRCLAIM_BASE}/CodeSystem/icd-10-im"
ICD9CM_IM = f"{FHIRCLAIM_BASE}/CodeSystem/icd-9-cm-im"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
EKLAIM_CARA_MASUK = f"{FHIRCLAIM_BASE}/CodeSystem/eklaim-cara-masuk"
EKLAIM_TARIFF_CATEGORY = f"{FHIRCLAIM_BASE}/CodeSystem/eklaim-tariff-category"
EKLAIM_PAYOR = f"{FHIRCLAIM_BASE}/CodeSystem/eklaim-payor"
EKLAIM_CARD_TYPE = f"{FHIRCLAIM_BASE}/CodeSystem/eklaim-card-type"
EKLAIM_COB_SYSTEM = f"{FHIRCLAIM_BASE}/sid/eklaim-cob"
IDRG_MDC = f"{FHIRCLAIM_BASE}/CodeSystem/idrg-mdc"
IDRG_DRG = f"{FHIRCLAIM_BASE}/CodeSystem/idrg-drg"
IDRG_TOPUP = f"{FHIRCLAIM_BASE}/CodeSystem/idrg-topup"
TARIFF_CATEGORY_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/eklaim-tariff-category"
PROCEDURE_MULTIPLICITY_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/procedure-multiplicity"
IDRG_RESULT_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/idrg-result"
GROUPER_VERSION_EXT = f"{FHIRCLAIM_BASE}/StructureDefinition/eklaim-grouper-version"
KEMKES_TOTAL_PRICE_EXT = "https://fhir.kemkes.go.id/r4/StructureDefinition/totalPrice"
KEMKES_UNIT_PRICE_EXT = "https://fhir.kemkes.go.id/r4/StructureDefinition/unitPrice"
KFA = "http://sys-ids.kemkes.go.id/kfa"
KPTL = "http://terminology.kemkes.go.id/CodeSystem/kptl"
