"""E-Klaim → FHIR: grouper answers as the Kemenkes Package extension and a `grouping` ClaimResponse.

Reads both answer shapes E-Klaim has used: 5.1 (`response.cbg.tariff`, `sub_acute`, `chronic`, `special_cmg`) and
5.10 (`response_inacbg` with `base_tariff`/`tariff`); `special_cmg_option` may sit beside or inside the response.
E-Klaim 5.10 also groups with iDRG first (`response_idrg`): that result rides on the Claim and the ClaimResponse as
this server's `idrg-result` extension (profiles/StructureDefinition-idrg-result.json) beside the Package, which
stays what BPJS-K pays against.
E-Klaim business errors (E20xx) and grouper error groups (X-0-xx-X) become `Issue`s carrying their code in this
server's published CodeSystems, so a SIMRS can act on the code and a person on the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhirclaim.claims import code_tables, systems
from fhirclaim.claims.facts import nomor_sep_of
from fhirclaim.claims.fhirvalues import decimal, rupiah
from fhirclaim.fhir.outcome import Issue

OUTCOMES = ("complete", "partial", "error")


@dataclass(frozen=True)
class PackageLine:
    """One paid package of a grouping: the CBG itself, or a top-up (special CMG, sub-acute, chronic)."""

    kind: str  # base | special-cmg | sub-acute | chronic
    system: str
    code: str
    description: str | None
    tariff: int
    type: str | None = None  # special CMG type: Special Procedure, Special Prosthesis, ...


@dataclass(frozen=True)
class Grouping:
    """A grouper answer read into values."""

    cbg: PackageLine | None
    additional: tuple[PackageLine, ...]
    kelas: str | None
    inacbg_version: str | None
    special_cmg_options: tuple[dict[str, str], ...]  # code, description, type as E-Klaim offers them
    add_payment_amt: int

    @property
    def total(self) -> int:
        """The INA-CBG claim value: the CBG tariff plus every top-up."""
        return (self.cbg.tariff if self.cbg else 0) + sum(line.tariff for line in self.additional)

    @property
    def is_error(self) -> bool:
        """No CBG, or an error group of CMG X (X-0-94-X …): nothing E-Klaim would pay."""
        return self.cbg is None or self.cbg.code.upper().startswith("X")

    @property
    def awaits_special_cmg(self) -> bool:
        """Special CMG options were offered and none is applied yet: the hospital must choose (stage 2)."""
        return bool(self.special_cmg_options) and not any(a.kind == "special-cmg" for a in self.additional)


def read_grouping(answer: dict[str, Any]) -> Grouping:
    """Read a grouper answer: the whole decoded E-Klaim answer, or its `response`/`response_inacbg` part."""
    response = answer.get("response_inacbg") or answer.get("response") or answer
    if not isinstance(response, dict):
        response = {}
    cbg = response.get("cbg") if isinstance(response.get("cbg"), dict) else None
    base = None
    if cbg and cbg.get("code"):
        tariff = response.get("base_tariff", cbg.get("tariff"))
        base = PackageLine("base", systems.INACBG, str(cbg["code"]), cbg.get("description"), _amount(tariff))
    options = answer.get("special_cmg_option") or response.get("special_cmg_option") or []
    return Grouping(
        cbg=base,
        additional=tuple(_additional(response)),
        kelas=response.get("kelas"),
        inacbg_version=response.get("inacbg_version"),
        special_cmg_options=tuple(
            {k: str(o[k]) for k in ("code", "description", "type") if o.get(k) is not None}
            for o in options if isinstance(o, dict) and o.get("code")
        ),
        add_payment_amt=_amount(response.get("add_payment_amt")),
    )


def _additional(response: dict[str, Any]) -> list[PackageLine]:
    lines: list[PackageLine] = []
    special = response.get("special_cmg") or []
    for item in special if isinstance(special, list) else [special]:
        if isinstance(item, dict) and _real_code(item.get("code")):
            lines.append(PackageLine("special-cmg", systems.INACBG_SPECIAL_CMG, str(item["code"]),
                                     item.get("description"), _amount(item.get("tariff")), item.get("type")))
    for key, kind in (("sub_acute", "sub-acute"), ("chronic", "chronic")):
        item = response.get(key)
        if isinstance(item, dict) and _real_code(item.get("code")):
            lines.append(PackageLine(kind, systems.INACBG_SAC, str(item["code"]), item.get("description"),
                                     _amount(item.get("tariff"))))
    return lines


def _real_code(code: Any) -> bool:
    return isinstance(code, str) and code.strip() not in ("", "-", "None")


def _amount(value: Any) -> int:
    number = decimal(value)
    return int(rupiah(number)) if number is not None else 0


# --- the Package extension -----------------------------------------------------------------------------------

def package_extension(grouping: dict[str, Any] | Grouping, kode_tarif: str) -> dict[str, Any]:
    """The Kemenkes `Package` extension for the Claim (shape of reactclient_claim-bpjs.json).

    Raises ValueError for an error grouping: an X-0-xx-X group is not a package anybody pays.
    """
    result = grouping if isinstance(grouping, Grouping) else read_grouping(grouping)
    if result.is_error or result.cbg is None:
        raise ValueError("an error grouping (no CBG or CMG X) has no package")
    parts = [
        {"url": "tariffClass", "valueCodeableConcept": {"coding": [_tariff_class(kode_tarif)]}},
        {"url": "basePackage", "extension": _package_parts(result.cbg)},
    ]
    parts.extend({"url": "additionalPackage", "extension": _package_parts(line)} for line in result.additional)
    return {"url": systems.PACKAGE_EXT, "extension": parts}


def with_package(claim: dict[str, Any], grouping: dict[str, Any] | Grouping, kode_tarif: str) -> dict[str, Any]:
    """A copy of `claim` whose Package extension is the one of `grouping` (any earlier one replaced)."""
    others = [e for e in claim.get("extension") or [] if e.get("url") != systems.PACKAGE_EXT]
    return {**claim, "extension": [*others, package_extension(grouping, kode_tarif)]}


def read_package(claim: dict[str, Any]) -> Grouping | None:
    """The grouping a Claim's Package extension states (E-Klaim's own result, posted by E-Klaim), or None when the
    Claim has none or it names no base package."""
    package = next((e for e in claim.get("extension") or [] if e.get("url") == systems.PACKAGE_EXT), None)
    parts = (package or {}).get("extension") or []
    base = next((_package_line(p, "base") for p in parts if p.get("url") == "basePackage"), None)
    if base is None:
        return None
    additional = tuple(_package_line(p, _additional_kind(p)) for p in parts if p.get("url") == "additionalPackage")
    return Grouping(cbg=base, additional=additional, kelas=None, inacbg_version=None, special_cmg_options=(),
                    add_payment_amt=0)


def _package_line(part: dict[str, Any], kind: str) -> PackageLine:
    values = {p.get("url"): p for p in part.get("extension") or [] if isinstance(p, dict)}
    coding = ((values.get("code") or {}).get("valueCodeableConcept") or {}).get("coding") or [{}]
    value = (values.get("value") or {}).get("valueInteger")
    return PackageLine(kind, str(coding[0].get("system") or systems.INACBG), str(coding[0].get("code") or ""),
                       coding[0].get("display"), int(value) if isinstance(value, int) else 0)


def _additional_kind(part: dict[str, Any]) -> str:
    line = _package_line(part, "")
    if line.system == systems.INACBG_SPECIAL_CMG:
        return "special-cmg"
    return "chronic" if line.code.upper().startswith("CF") else "sub-acute"


def _tariff_class(kode_tarif: str) -> dict[str, str]:
    coding = {"system": systems.TARIFF_CLASS, "code": kode_tarif}
    display = code_tables.data_table("eklaim_mapping")["kode_tarif"]["codes"].get(kode_tarif)
    return {**coding, "display": display} if display else coding


def _package_parts(line: PackageLine) -> list[dict[str, Any]]:
    coding = {"system": line.system, "code": line.code}
    if line.description:
        coding["display"] = line.description
    return [
        {"url": "code", "valueCodeableConcept": {"coding": [coding]}},
        {"url": "value", "valueInteger": line.tariff},
    ]


# --- the iDRG result --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdrgResult:
    """An iDRG grouper answer (`response_idrg`) read into values; `tariff` = total_cost_weight × nbr."""

    mdc: str | None
    mdc_description: str | None
    drg: str | None
    drg_description: str | None
    cost_weight: Decimal | None
    total_cost_weight: Decimal | None
    nbr: int
    script_version: str | None
    logic_version: str | None
    status: str | None
    topups: tuple[dict[str, str], ...] = ()  # applied (grouper stage 2 topup_codes): code, description, type, weight
    topup_options: tuple[dict[str, str], ...] = ()  # offered by stage 1

    @property
    def tariff(self) -> int:
        return int(rupiah(self.total_cost_weight * self.nbr)) if self.total_cost_weight is not None else 0

    @property
    def ungroupable(self) -> bool:
        """MDC 36 (Ungroupable or Unrelated): every iDRG error group starts with it."""
        return self.mdc == "36" or (self.drg or "").startswith("36")


def read_idrg(answer: dict[str, Any]) -> IdrgResult:
    """Read an iDRG answer: the whole decoded answer, its `response_idrg`, or get_claim_data's `grouper` part."""
    response = answer.get("response_idrg") or (answer.get("grouper") or {}).get("response_idrg") or answer
    if not isinstance(response, dict):
        response = {}

    def text(key: str) -> str | None:
        value = response.get(key)
        return str(value).strip() if value not in (None, "", "-") else None

    return IdrgResult(
        mdc=text("mdc_number"), mdc_description=text("mdc_description"), drg=text("drg_code"),
        drg_description=text("drg_description"), cost_weight=decimal(response.get("cost_weight")),
        total_cost_weight=decimal(response.get("total_cost_weight")), nbr=_amount(response.get("nbr")),
        script_version=text("script_version"), logic_version=text("logic_version"), status=text("status_cd"),
        topups=_topups(response.get("topup")), topup_options=_topups(response.get("topup_options")),
    )


def _topups(found: Any) -> tuple[dict[str, str], ...]:
    return tuple({k: str(t[k]) for k in ("code", "description", "type", "cost_weight") if t.get(k) is not None}
                 for t in (found if isinstance(found, list) else []) if isinstance(t, dict) and t.get("code"))


def idrg_extension(idrg: dict[str, Any] | IdrgResult) -> dict[str, Any]:
    """This server's `idrg-result` extension: MDC, DRG, cost weights, NBR, tariff and the grouper's versions."""
    result = idrg if isinstance(idrg, IdrgResult) else read_idrg(idrg)
    parts: list[dict[str, Any]] = []
    if result.mdc:
        parts.append({"url": "mdc", "valueCoding": _coding(systems.IDRG_MDC, result.mdc, result.mdc_description)})
    if result.drg:
        parts.append({"url": "drg", "valueCoding": _coding(systems.IDRG_DRG, result.drg, result.drg_description)})
    for name, weight in (("costWeight", result.cost_weight), ("totalCostWeight", result.total_cost_weight)):
        if weight is not None:
            parts.append({"url": name, "valueDecimal": float(weight)})
    parts += [{"url": "nationalBaseRate", "valueMoney": _money(result.nbr)},
              {"url": "tariff", "valueMoney": _money(result.tariff)}]
    for name, value in (("scriptVersion", result.script_version), ("logicVersion", result.logic_version)):
        if value:
            parts.append({"url": name, "valueString": value})
    if result.status:
        parts.append({"url": "status", "valueCode": result.status})
    parts += [{"url": name, "extension": _topup_parts(topup)} for name, topups in (
        ("topup", result.topups), ("topupOption", result.topup_options)) for topup in topups]
    return {"url": systems.IDRG_RESULT_EXT, "extension": parts}


def _topup_parts(topup: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"url": "code", "valueCoding": _coding(systems.IDRG_TOPUP, topup["code"], topup.get("description"))}]
    if topup.get("type"):
        parts.append({"url": "type", "valueCode": topup["type"]})
    weight = decimal(topup.get("cost_weight"))
    if weight is not None:
        parts.append({"url": "costWeight", "valueDecimal": float(weight)})
    return parts


def with_idrg(claim: dict[str, Any], idrg_answer: dict[str, Any]) -> dict[str, Any]:
    """A copy of `claim` carrying the iDRG result of `idrg_answer` (any earlier one replaced), beside its Package."""
    others = [e for e in claim.get("extension") or [] if e.get("url") != systems.IDRG_RESULT_EXT]
    return {**claim, "extension": [*others, idrg_extension(idrg_answer)]}


def _grouper_versions(result: Grouping | None, idrg: IdrgResult | None) -> dict[str, Any] | None:
    """The E-Klaim grouper versions that made the answer (inacbg_version, iDRG logic and script versions)."""
    parts = [{"url": name, "valueString": value} for name, value in (
        ("inacbg", result.inacbg_version if result else None),
        ("idrgLogic", idrg.logic_version if idrg else None),
        ("idrgScript", idrg.script_version if idrg else None)) if value]
    return {"url": systems.GROUPER_VERSION_EXT, "extension": parts} if parts else None


def _idrg_note(idrg: IdrgResult) -> str:
    weight = f"{idrg.total_cost_weight}" if idrg.total_cost_weight is not None else "?"
    return (f"iDRG {idrg.drg or '-'} {idrg.drg_description or ''} (MDC {idrg.mdc or '-'} "
            f"{idrg.mdc_description or ''}): cost weight {weight} × NBR Rp {idrg.nbr:,} = Rp {idrg.tariff:,}"
            + (f"; logic {idrg.logic_version}" if idrg.logic_version else ""))


# --- errors as issues ----------------------------------------------------------------------------------------

def eklaim_error_issue(error_no: str, message: str | None = None) -> Issue:
    """An E-Klaim business error (`metadata.error_no`, `metadata.message`) as an Issue with what to do."""
    found = code_tables.concept(systems.EKLAIM_ERROR, error_no)
    text = f"E-Klaim {error_no}: {message or (found or {}).get('display') or 'unknown error'}"
    advice = code_tables.concept_property(found, "advice")
    return Issue("error", code_tables.concept_property(found, "issue-type") or "business-rule",
                 f"{text}. {advice}" if advice else text, (), error_no, systems.EKLAIM_ERROR)


def grouper_error_issue(cbg_code: str, description: str | None = None) -> Issue:
    """An error CBG of the INA-CBG grouper (X-0-94-X …) as an Issue."""
    found = code_tables.concept(systems.INACBG_ERROR_GROUP, cbg_code)
    text = f"INA-CBG grouper {cbg_code}: {description or (found or {}).get('display') or 'error group'}"
    advice = code_tables.concept_property(found, "advice")
    return Issue("error", code_tables.concept_property(found, "issue-type") or "business-rule",
                 f"{text}. {advice}" if advice else text, (), cbg_code, systems.INACBG_ERROR_GROUP)


def grouper_issues(grouping: dict[str, Any] | Grouping) -> list[Issue]:
    """The grouper's own verdict as issues: empty for a real CBG."""
    result = grouping if isinstance(grouping, Grouping) else read_grouping(grouping)
    if result.cbg is None:
        return [grouper_error_issue("X-0-99-X", "the grouper answered without a CBG")]
    return [grouper_error_issue(result.cbg.code, result.cbg.description)] if result.is_error else []


def grouping_outcome(grouping: dict[str, Any] | Grouping | None, issues: list[Issue]) -> str:
    """complete | partial | error for a grouping ClaimResponse, as architecture §4 defines them."""
    result = grouping if isinstance(grouping, Grouping) or grouping is None else read_grouping(grouping)
    if result is None or result.is_error or any(i.is_error for i in issues):
        return "error"
    return "partial" if result.awaits_special_cmg else "complete"


# --- the grouping ClaimResponse --------------------------------------------------------------------------------

def grouping_claim_response(
    claim: dict[str, Any],
    *,
    grouping: dict[str, Any] | Grouping | None,
    issues: list[Issue],
    outcome: str,
    created: datetime,
    tarif_rs: Decimal | int | None = None,
    idrg: dict[str, Any] | IdrgResult | None = None,
) -> dict[str, Any]:
    """A ClaimResponse (subType `grouping`) telling the hospital what E-Klaim made of its Claim.

    `tarif_rs` is the amount sent to E-Klaim when it did not come from Claim.total (e.g. Invoice.totalGross).
    `idrg` is E-Klaim 5.10's iDRG answer: it rides as the `idrg-result` extension and a processNote, never as
    an addItem or total (INA-CBG's package is what BPJS-K pays). The grouper versions ride in
    `eklaim-grouper-version`.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    result = grouping if isinstance(grouping, Grouping) or grouping is None else read_grouping(grouping)
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": claim.get("type") or {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                                  "code": "institutional"}]},
        "subType": {"coding": [_coding(systems.CLAIMRESPONSE_SUBTYPE, "grouping")]},
        "use": claim.get("use") or "claim",
        "patient": claim.get("patient") or {},
        "created": created.isoformat(),
        "insurer": claim.get("insurer") or {"display": "BPJS Kesehatan"},
        "outcome": outcome,
        "disposition": _disposition(result, issues, outcome),
    }
    _add_references(response, claim)
    submitted = decimal(tarif_rs) if tarif_rs is not None else decimal((claim.get("total") or {}).get("value"))
    if result is not None and not result.is_error:
        _add_money(response, result, submitted)
    idrg_result = idrg if isinstance(idrg, IdrgResult) or idrg is None else read_idrg(idrg)
    extensions = [{"url": systems.SPECIAL_CMG_OPTION_EXT, "valueCoding": _option_coding(option)}
                  for option in (result.special_cmg_options if outcome == "partial" and result else ())]
    extensions += [idrg_extension(idrg_result)] if idrg_result else []
    versions = _grouper_versions(result, idrg_result) if idrg_result else None
    extensions += [versions] if versions else []
    if extensions:
        response["extension"] = extensions
    notes = ([_idrg_note(idrg_result)] if idrg_result else []) + _notes(result, issues, outcome)
    if notes:
        response["processNote"] = [{"number": n, "type": "display", "text": t} for n, t in enumerate(notes, 1)]
    errors = [_error(issue) for issue in issues if issue.is_error]
    if result is not None and result.is_error:
        errors.extend(_error(issue) for issue in grouper_issues(result) if _error(issue) not in errors)
    if errors:
        response["error"] = errors
    return response


def _add_references(response: dict[str, Any], claim: dict[str, Any]) -> None:
    sep, where = nomor_sep_of(claim)
    if sep:
        response["identifier"] = [_sep_identifier(claim, sep, where)]
    if claim.get("provider"):
        response["requestor"] = claim["provider"]
    if claim.get("id"):
        response["request"] = {"reference": f"Claim/{claim['id']}"}


def _sep_identifier(claim: dict[str, Any], sep: str, where: str) -> dict[str, Any]:
    """The SEP identifier as the Claim carries it, so ClaimResponse?identifier=<system>|<SEP> finds both."""
    candidates = [i.get("identifier") or {} for i in claim.get("insurance") or []] + list(claim.get("identifier") or [])
    for identifier in candidates:
        if identifier.get("value") == sep and identifier.get("system"):
            return {"system": identifier["system"], "value": sep}
    return {"value": sep}


def _add_money(response: dict[str, Any], result: Grouping, submitted: Decimal | None) -> None:
    benefit = {"category": {"coding": [_coding(systems.ADJUDICATION, "benefit", "Benefit Amount")]},
               "amount": _money(result.total)}
    totals = [benefit]
    if submitted is not None:
        totals.insert(0, {"category": {"coding": [_coding(systems.ADJUDICATION, "submitted", "Submitted Amount")]},
                          "amount": _money(int(rupiah(submitted)))})
    # INA-CBG pays the stay as one package: the claim as a whole is item 1, each package line an addItem.
    # A class upgrade's add_payment_amt is the patient's share: `copay`, as SATUSEHAT carries the excess.
    copay = [{"category": {"coding": [_coding(systems.ADJUDICATION, "copay", "CoPay")]},
              "amount": _money(result.add_payment_amt)}] if result.add_payment_amt else []
    response["item"] = [{"itemSequence": 1, "adjudication": [*totals, *copay]}]
    response["addItem"] = [
        {"productOrService": {"coding": [_coding(line.system, line.code, line.description)]},
         "net": _money(line.tariff),
         "adjudication": [{"category": {"coding": [_coding(systems.ADJUDICATION, "benefit", "Benefit Amount")]},
                           "amount": _money(line.tariff)}]}
        for line in ([result.cbg] if result.cbg else []) + list(result.additional)
    ]
    response["total"] = totals


def _disposition(result: Grouping | None, issues: list[Issue], outcome: str) -> str:
    if outcome == "error":
        first = next((i.text for i in issues if i.is_error), None)
        if first is None and result is not None:
            first = next((i.text for i in grouper_issues(result)), None)
        return f"Not grouped: {first}" if first else "Not grouped"
    if result is None or result.cbg is None:
        return "Grouped"
    text = f"Grouped {result.cbg.code} ({result.cbg.description or ''}), INA-CBG Rp {result.total:,}"
    if outcome == "partial":
        text += "; special CMG options wait for the hospital's choice (supportingInfo special-cmg)"
    return text


def _notes(result: Grouping | None, issues: list[Issue], outcome: str) -> list[str]:
    notes: list[str] = []
    if result is not None and result.cbg is not None and not result.is_error:
        notes.append(f"CBG {result.cbg.code} {result.cbg.description or ''}: Rp {result.cbg.tariff:,}".strip())
        notes.extend(f"{line.kind} {line.code} {line.description or ''}: Rp {line.tariff:,}"
                     for line in result.additional)
        if result.add_payment_amt:
            notes.append(f"Patient's additional payment for the class upgrade (add_payment_amt): "
                         f"Rp {result.add_payment_amt:,}")
        if result.inacbg_version:
            notes.append(f"INA-CBG version {result.inacbg_version}")
    if outcome == "partial" and result is not None:
        offered = "; ".join(f"{o['code']} {o.get('description', '')} ({o.get('type', '')})".strip()
                            for o in result.special_cmg_options)
        notes.append("Pilih special CMG / choose special CMG (Claim.supportingInfo category special-cmg, then "
                     f"update the Claim): {offered}")
    notes.extend(f"{i.severity}: {i.text}" + (f" [{', '.join(i.expression)}]" if i.expression else "")
                 for i in issues)
    return notes


def _error(issue: Issue) -> dict[str, Any]:
    code: dict[str, Any] = {"text": issue.text}
    if issue.details_code:
        coding = {"code": issue.details_code}
        if issue.details_system:
            coding = {"system": issue.details_system, **coding}
            display = (code_tables.concept(issue.details_system, issue.details_code) or {}).get("display") \
                if issue.details_system.startswith(systems.FHIRCLAIM_BASE) else None
            if display:
                coding["display"] = display
        code["coding"] = [coding]
    return {"code": code}


def _option_coding(option: dict[str, str]) -> dict[str, str]:
    return _coding(systems.INACBG_SPECIAL_CMG, option["code"], option.get("description"))


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _money(value: int) -> dict[str, Any]:
    return {"value": value, "currency": "IDR"}
