"""The coding of an E-Klaim 5.10 claim: what iDRG gets (`idrg_diagnosa_set` / `idrg_procedure_set`) and what
INA-CBG gets where it must differ from `idrg_to_inacbg_import`.

One CodeableConcept per diagnosis or procedure may carry two codings: the Indonesian modification (ICD-10-IM /
ICD-9-CM-IM, `systems.ICD10_IM` / `ICD9CM_IM`) is the iDRG code, the plain ICD-10 / ICD-9-CM coding the INA-CBG
code. With one coding only, both groupers get it. Procedures are written in iDRG notation: `86.22+2` when the
procedure was done twice in one operation (the `procedure-multiplicity` extension on Claim.procedure, or the
quantity of the one Claim.item whose procedureSequence names it), and a code repeated once per Claim.procedure
entry for separate operations (`86.22#86.22`), as manual 5.10 §7 describes.

Codes are checked before E-Klaim sees them, because E-Klaim silently drops a code it does not know: a malformed
code is an error, an ICD-10 / ICD-9-CM code outside the code lists and an IM-only code with no INA-CBG
alternative are warnings (an IM-only principal diagnosis is an error: INA-CBG would group without one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhirclaim.claims import systems
from fhirclaim.claims.claim_context import ClaimContext, lookup, reference_of
from fhirclaim.claims.facts import is_principal, sequence_key
from fhirclaim.claims.fhirvalues import as_dict, as_list, codings, decimal
from fhirclaim.fhir.outcome import Issue, error, warning
from fhirclaim.terminology import icd9cm, icd10

_DIAGNOSIS_SHAPE = re.compile(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?")
_PROCEDURE_SHAPE = re.compile(r"\d{2}(\.\d{1,3})?")


@dataclass(frozen=True)
class CodedEntry:
    """One Claim.diagnosis or Claim.procedure entry as the two groupers get it."""

    idrg: str
    inacbg: str | None  # None: an IM-only code with no INA-CBG alternative (the import marks it E2101)
    multiplicity: int
    principal: bool
    expression: str

    @property
    def idrg_notation(self) -> str:
        return f"{self.idrg}+{self.multiplicity}" if self.multiplicity > 1 else self.idrg


@dataclass(frozen=True)
class _Kind:
    element: str  # diagnosis | procedure
    plain: str
    im: str
    shape: re.Pattern[str]
    code_list: Any
    label: str


_DIAGNOSIS = _Kind("diagnosis", systems.ICD10, systems.ICD10_IM, _DIAGNOSIS_SHAPE, icd10, "ICD-10")
_PROCEDURE = _Kind("procedure", systems.ICD9CM, systems.ICD9CM_IM, _PROCEDURE_SHAPE, icd9cm, "ICD-9-CM")


def read_coding(ctx: ClaimContext) -> tuple[list[CodedEntry], list[CodedEntry], list[Issue]]:
    """Diagnoses (principal first) and procedures of the Claim, with every problem found in their codes."""
    issues: list[Issue] = []
    diagnoses = _entries(ctx, _DIAGNOSIS, ctx.conditions, issues)
    diagnoses.sort(key=lambda entry: not entry.principal)
    procedures = _entries(ctx, _PROCEDURE, ctx.procedures, issues)
    if not diagnoses:
        issues.append(error("required", "No ICD-10 or ICD-10-IM diagnosis: iDRG and INA-CBG group the claim on its "
                            "principal diagnosis (idrg_diagnosa_set).", "Claim.diagnosis"))
    elif diagnoses[0].inacbg is None:
        issues.append(error("code-invalid", f"The principal diagnosis {diagnoses[0].idrg} is an ICD-10-IM code "
                            "INA-CBG does not take (E2101 'IM tidak berlaku'): add its ICD-10 coding "
                            f"({systems.ICD10}) to the same CodeableConcept.", diagnoses[0].expression))
    return diagnoses, procedures, issues


def idrg_strings(diagnoses: list[CodedEntry], procedures: list[CodedEntry]) -> tuple[list[str], list[str]]:
    return [d.idrg for d in _unique(diagnoses)], [p.idrg_notation for p in procedures]


def inacbg_strings(diagnoses: list[CodedEntry],
                   procedures: list[CodedEntry]) -> tuple[list[str] | None, list[str] | None]:
    """The INA-CBG coding where it differs from what `idrg_to_inacbg_import` copies over, else None."""
    return _override(_unique(diagnoses)), _override(procedures)


def _override(entries: list[CodedEntry]) -> list[str] | None:
    if all(entry.inacbg == entry.idrg for entry in entries):
        return None
    return [entry.inacbg for entry in entries if entry.inacbg]


def _unique(diagnoses: list[CodedEntry]) -> list[CodedEntry]:
    seen: dict[str, CodedEntry] = {}
    for entry in diagnoses:
        seen.setdefault(entry.idrg, entry)
    return list(seen.values())


def _entries(ctx: ClaimContext, kind: _Kind, targets: Any, issues: list[Issue]) -> list[CodedEntry]:
    entries = [e for e in as_list(ctx.claim.get(kind.element)) if isinstance(e, dict)]
    ordered = sorted(enumerate(entries), key=lambda pair: (sequence_key(pair[1]), pair[0]))
    found = [_entry(ctx, kind, index, entry, targets, issues) for index, entry in ordered]
    return [entry for entry in found if entry is not None]


def _entry(ctx: ClaimContext, kind: _Kind, index: int, entry: dict[str, Any], targets: Any,
           issues: list[Issue]) -> CodedEntry | None:
    key = f"{kind.element}CodeableConcept"
    concept, at = entry.get(key), f"Claim.{kind.element}[{index}].{key}"
    if concept is None and reference_of(entry.get(f"{kind.element}Reference")):
        concept = as_dict(lookup(targets, reference_of(entry.get(f"{kind.element}Reference")))).get("code")
        at = f"Claim.{kind.element}[{index}].{kind.element}Reference"
    plain, im = _code(concept, kind.plain, kind, at, issues), _code(concept, kind.im, kind, at, issues)
    if plain is None and im is None:
        issues.append(error("code-invalid", f"Claim.{kind.element}[{index}] has no {kind.label} or {kind.label}-IM "
                            f"coding ({kind.plain}, {kind.im}) in {key} or a resolvable resource: iDRG takes only "
                            "those.", f"Claim.{kind.element}[{index}]"))
        return None
    if plain is not None and not kind.code_list.is_valid(plain):
        issues.append(warning("code-unknown", f"{plain} is not a {kind.label} code: E-Klaim drops codes it does not "
                              f"know. If it is an Indonesian modification code, send it with system {kind.im}.", at))
    im_only = im is not None and plain is None and not kind.code_list.is_valid(im)
    principal = kind is _DIAGNOSIS and is_principal(entry)
    if im_only and not principal:
        issues.append(warning("code-invalid", f"{im} is an {kind.label}-IM code INA-CBG does not take (E2101 'IM "
                              f"tidak berlaku'): iDRG gets it, INA-CBG groups without it. Add a {kind.label} coding "
                              f"({kind.plain}) to the same CodeableConcept to give INA-CBG its code.", at))
    multiplicity = _multiplicity(ctx.claim, entry, index, issues) if kind is _PROCEDURE else 1
    idrg = im or plain
    return CodedEntry(idrg, None if im_only else (plain or im), multiplicity, principal, at)  # type: ignore[arg-type]


def _code(concept: Any, system: str, kind: _Kind, at: str, issues: list[Issue]) -> str | None:
    for position, coding in codings(concept):
        if coding.get("system") == system and isinstance(coding.get("code"), str) and coding["code"].strip():
            code = _dotted(kind, kind.code_list.normalize(coding["code"].strip().upper()))
            if not kind.shape.fullmatch(code):
                issues.append(error("code-invalid", f"{coding['code']!r} is not shaped like a {kind.label} code "
                                    f"({system}).", f"{at}.coding[{position}].code"))
                return None
            return code
    return None


def _dotted(kind: _Kind, code: str) -> str:
    """ICD-9-CM-IM codes have up to three decimals ("91799" → "91.799"), which ICD-9-CM's normalize leaves bare."""
    if kind is _PROCEDURE and code.isdigit() and 3 <= len(code) <= 5:
        return f"{code[:2]}.{code[2:]}"
    return code


def _multiplicity(claim: dict[str, Any], entry: dict[str, Any], index: int, issues: list[Issue]) -> int:
    """How often the procedure was done in one operation: its extension, else its one Claim.item's quantity."""
    where = f"Claim.procedure[{index}]"
    for position, extension in enumerate(as_list(entry.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == systems.PROCEDURE_MULTIPLICITY_EXT:
            value = extension.get("valuePositiveInt", extension.get("valueInteger"))
            return _positive(value, f"{where}.extension[{position}]", issues)
    sequence = entry.get("sequence")
    for position, item in enumerate(as_list(claim.get("item"))):
        if isinstance(item, dict) and item.get("procedureSequence") == [sequence] and item.get("quantity"):
            quantity = decimal(as_dict(item["quantity"]).get("value"))
            return _positive(quantity, f"Claim.item[{position}].quantity.value", issues)
    return 1


def _positive(value: Any, where: str, issues: list[Issue]) -> int:
    number = decimal(value)
    if number is None or number < 1 or number != number.to_integral_value():
        issues.append(error("value", f"A procedure's multiplicity must be a whole number of at least 1, not "
                            f"{value!r} (iDRG writes it as code+n).", where))
        return 1
    return int(number)


# --- 5.10: the INA-CBG coding that must differ from the iDRG import -----------------------------------------------

_STANDARD_CODE_LENGTH = 5  # A15.0, 91.79: ICD-10 and ICD-9-CM codes; an IM code adds a digit (A15.00, 91.799)


def inacbg_changes(imported: dict[str, Any], claim_coding: tuple[list[str] | None, list[str] | None]
                   ) -> dict[str, list[str]]:
    """inacbg_diagnosa_set / inacbg_procedure_set → codes, only where the INA-CBG coding must differ from what the
    import gave: the Claim names INA-CBG codes (used as given), or the import refused codes as IM-only (E2101), which
    are replaced by their ICD-10 / ICD-9-CM parent (A15.00 → A15.0, 91.799 → 91.79, as the manual's examples do)
    or, without one, left out."""
    changes: dict[str, list[str]] = {}
    for method, part, named in (("inacbg_diagnosa_set", "diagnosa", claim_coding[0]),
                                ("inacbg_procedure_set", "procedure", claim_coding[1])):
        got = imported.get(part) or {}
        codes, refused = list(got.get("codes") or []), set(got.get("refused") or [])
        wanted = list(named) if named is not None else _without_im_codes(codes, refused)
        if wanted != codes:
            changes[method] = wanted
    return changes


def _without_im_codes(codes: list[str], refused: set[str]) -> list[str]:
    kept: list[str] = []
    for code in codes:
        base, _, times = code.partition("+")
        if code in refused or base in refused:
            if len(base) <= _STANDARD_CODE_LENGTH:
                continue
            code = base[:-1] + (f"+{times}" if times else "")
        if code not in kept:
            kept.append(code)
    return kept
