"""The claim unit's worklist projection: for each Claim, what state it is in, whether it needs a person, why, and
what to do. It reads the pipeline's results and BPJS-K's answers alike, so it lives above both (bpjs imports claims,
never the reverse); the web app only reads the lines (`store/worklist.py`) and the claim file (`read_claim_file`).

`worklist_entry` reads a Claim and what answers it (the grouping ClaimResponse, BPJS-K's purification and
verification, the hospital's PurificationDecisions) into one line of `claim_worklist`; `WorklistListener` rewrites
that line inside every transaction that changes one of them, so the web app lists 100k claims from one indexed
table instead of reading resources. The causes that need a person are `ATTENTION`, in the order the filter shows
them: a new cause is one more entry there and one more branch in `_attention`.

BPJS-K answers each published Bundle version anew (a corrected claim is purified and verified again), so a claim
file holds the latest purification and the latest verification; whichever is newer says where the claim stands. A
verification returned as pending (`bpjs.codes.verification_pending`) needs the hospital's answer
(`bpjs.confirmation.answer_pending`) until the Claim carries a `pending-answer` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from fhirclaim.bpjs import codes
from fhirclaim.bpjs.confirmation import pending_answer
from fhirclaim.claims.server_fields import processing_state
from fhirclaim.clock import utc_now
from fhirclaim.fhir import dates
from fhirclaim.fhir.indexing.reference import named
from fhirclaim.fhir.search_request import parse_search
from fhirclaim.interactions.service import ResourceChange
from fhirclaim.store.models import fit_numeric
from fhirclaim.store.repository import SqlResourceRepository, StoredResource
from fhirclaim.store.scope import SYSTEM, Scope, partition_of
from fhirclaim.store.unit_of_work import Store, UnitOfWork

SEP_SYSTEM_PART = "/claim-number/"
MR_CODE = "MR"
PRECHECK_RULES = "https://fhirclaim.org/fhir/CodeSystem/precheck-rule"
SUBTYPES = "https://fhirclaim.org/fhir/CodeSystem/claimresponse-subtype"

# Why a claim needs a person, in the filter's order (each has strings `attention.<key>` in i18n).
ATTENTION = ("precheck-error", "special-cmg", "eklaim-error", "purification-failed", "decision-due",
             "pending-bpjs", "precheck-warning")
STAGES = ("attention", "progress", "done")


@dataclass
class ClaimFile:
    """A Claim and what the worklist reads around it."""

    claim: dict[str, Any]
    patient: dict[str, Any] | None = None
    encounter: dict[str, Any] | None = None
    grouping: dict[str, Any] | None = None
    purification: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified_last(self) -> bool:
        """Whether BPJS-K's latest word is a verification (not a purification of a later Bundle version)."""
        return self.verification is not None and _newer(self.verification, self.purification)

    @property
    def pending(self) -> dict[str, Any] | None:
        """The verification returned as pending that stands now, answered or not."""
        return self.verification if self.verified_last and codes.verification_pending(self.verification) else None

    @property
    def pending_answered(self) -> bool:
        answer = pending_answer(self.claim)
        return self.pending is not None and answer is not None and \
            answer.claim_response == f"ClaimResponse/{self.pending['id']}"

    @property
    def open_purification(self) -> dict[str, Any] | None:
        """The purification the claim stands on: none once a later verification answered it."""
        return None if self.verified_last else self.purification

    @property
    def decision(self) -> str | None:
        """`lanjut` or `batal`: the hospital's latest decision on the open purification."""
        return codes.decision_of(self.decisions[-1]) if self.decisions and self.open_purification else None


def worklist_entry(file: ClaimFile, tenant: str | None, now: datetime) -> dict[str, Any]:
    """The worklist line of a claim file."""
    claim = file.claim
    period = claim.get("billablePeriod") or (file.encounter or {}).get("period") or {}
    status = processing_state(claim) or "received"
    stage, attention, next_action = _attention(file, status)
    return {
        "claim_id": claim["id"], "tenant": tenant, "sep": sep_of(claim),
        "patient_name": patient_name(file.patient), "patient_search": (patient_name(file.patient) or "").lower(),
        "mr_number": _identifier(file.patient, MR_CODE), "episode_start": _moment(period.get("start")),
        "episode_end": _moment(period.get("end")), "care_type": care_type(file.encounter, claim),
        "status": _display_status(file, status), "stage": stage, "attention": attention, "next_action": next_action,
        "tariff": _total(file.grouping, "benefit"), "tarif_rs": _money((claim.get("total") or {}).get("value")),
        "causes": ",".join(causes(file)) or None, "created_at": now,
        "submitted_at": _updated(file.grouping) if file.grouping and file.grouping.get("outcome") != "error" else None,
        "paid_at": _paid_at(file.verification) if file.verified_last and file.pending is None else None,
        "updated_at": now,
    }


def _attention(file: ClaimFile, status: str) -> tuple[str, str | None, str]:
    """(stage, attention cause, next action)."""
    outcome = (file.grouping or {}).get("outcome")
    if status == "withdrawn" or file.decision == "batal":
        return "done", None, "none"
    if file.verified_last and file.pending is None:
        return "done", None, "none"
    if file.pending is not None and not file.pending_answered:
        return "attention", "pending-bpjs", "answer-pending"
    if outcome == "error" or status == "error":
        kind = "precheck-error" if precheck_errors(file.grouping) else "eklaim-error"
        return "attention", kind, "fix-claim"
    if outcome == "partial" or status == "awaiting-special-cmg":
        return "attention", "special-cmg", "choose-special-cmg"
    if file.open_purification is not None and file.decision is None:
        if codes.purification_passed(file.open_purification):
            return "attention", "decision-due", "answer-purification"
        return "attention", "purification-failed", "answer-purification"
    if file.decision == "lanjut":
        return "progress", None, "wait-verification"
    if status == "signed":
        return "progress", None, "wait-bpjs"
    if precheck_warnings(file.grouping):
        return "attention", "precheck-warning", "review-warnings"
    return "progress", None, "wait-eklaim"


def _display_status(file: ClaimFile, status: str) -> str:
    if file.pending is not None and not file.pending_answered:
        return "pending"
    if file.verified_last and file.pending is None:
        return "verified"
    if file.decision:
        return f"decision-{file.decision}"
    if file.open_purification is not None:
        return "purified" if codes.purification_passed(file.open_purification) else "not-purified"
    return status


def precheck_errors(grouping: dict[str, Any] | None) -> list[str]:
    return [c["code"] for e in (grouping or {}).get("error") or [] for c in (e.get("code") or {}).get("coding") or []
            if c.get("system") == PRECHECK_RULES and c.get("code")]


def precheck_warnings(grouping: dict[str, Any] | None) -> list[str]:
    return [n["text"] for n in (grouping or {}).get("processNote") or []
            if str(n.get("text", "")).startswith("warning:")]


def causes(file: ClaimFile) -> list[str]:
    """What held the claim up, for the Pareto: precheck rules, E-Klaim errors, a failed purification."""
    found = precheck_errors(file.grouping)
    for error in (file.grouping or {}).get("error") or []:
        found += [c["code"] for c in (error.get("code") or {}).get("coding") or []
                  if c.get("system") != PRECHECK_RULES and c.get("code")]
    if file.purification is not None and not codes.purification_passed(file.purification):
        found.append("TIDAK-LOLOS-PURIFIKASI")
    if (file.grouping or {}).get("outcome") == "partial":
        found.append("SPECIAL-CMG-CHOICE")
    found += [f"PENDING-{reason}" for reason in codes.pending_reasons(file.pending)]
    return found


def sep_of(claim: dict[str, Any]) -> str | None:
    return next((i.get("value") for i in claim.get("identifier") or [] if SEP_SYSTEM_PART in (i.get("system") or "")),
                None)


def patient_name(patient: dict[str, Any] | None) -> str | None:
    for name in (patient or {}).get("name") or []:
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
        if text:
            return text
    return None


def _identifier(resource: dict[str, Any] | None, type_code: str) -> str | None:
    for identifier in (resource or {}).get("identifier") or []:
        if any(c.get("code") == type_code for c in ((identifier.get("type") or {}).get("coding") or [])):
            return identifier.get("value")
    return None


def care_type(encounter: dict[str, Any] | None, claim: dict[str, Any]) -> str | None:
    code = ((encounter or {}).get("class") or {}).get("code")
    if code:
        return "inpatient" if code in ("IMP", "ACUTE", "NONAC") else "outpatient"
    kind = next((c.get("code") for c in (claim.get("type") or {}).get("coding") or []), None)
    return {"institutional": "inpatient", "professional": "outpatient"}.get(kind)


def encounter_reference(claim: dict[str, Any]) -> str | None:
    for info in claim.get("supportingInfo") or []:
        if any(c.get("code") == "encounter" for c in (info.get("category") or {}).get("coding") or []):
            return (info.get("valueReference") or {}).get("reference")
    for item in claim.get("item") or []:
        for ref in item.get("encounter") or []:
            return ref.get("reference")
    return None


def _total(response: dict[str, Any] | None, category: str) -> Decimal | None:
    for total in (response or {}).get("total") or []:
        if any(c.get("code") == category for c in (total.get("category") or {}).get("coding") or []):
            return _money((total.get("amount") or {}).get("value"))
    return None


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, (int, float, str)) or isinstance(value, bool):
        return None
    try:
        return fit_numeric(Decimal(str(value)))
    except InvalidOperation:
        return None


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dates.to_range(text, "Asia/Jakarta")[0].replace(tzinfo=None)
    except ValueError:
        return None


def _updated(resource: dict[str, Any] | None) -> datetime | None:
    return _moment(((resource or {}).get("meta") or {}).get("lastUpdated"))


def _newer(resource: dict[str, Any], than: dict[str, Any] | None) -> bool:
    """Whether `resource` was written no earlier than `than` (None: nothing to be newer than)."""
    return than is None or (_updated(resource) or datetime.min) >= (_updated(than) or datetime.min)


def _paid_at(verification: dict[str, Any] | None) -> datetime | None:
    if verification is None:
        return None
    return _moment((verification.get("payment") or {}).get("date")) or _updated(verification)


def subtype(response: dict[str, Any]) -> str | None:
    """grouping (the pipeline's), purifikasi or verifikasi (BPJS-K's)."""
    found = codes.bpjs_subtype(response)
    if found:
        return found
    return next((c.get("code") for c in (response.get("subType") or {}).get("coding") or []
                 if c.get("system") == SUBTYPES), None)


# --- reading a claim file from the store -------------------------------------------------------------------


def read_claim_file(resources: SqlResourceRepository, claim: dict[str, Any], *, answered: bool = True,
                    partition: str | None = None, known: Mapping[tuple[str, str], StoredResource] | None = None
                    ) -> ClaimFile:
    """The claim file as stored: the Patient, the Encounter, the grouping, BPJS-K's latest purification (with the
    hospital's decisions on it) and latest verification (`answered` False: none, without asking). `partition`:
    the Claim's, when the caller has it (else it is looked up); `known`: the Patient or Encounter as this
    transaction found them already in the same view (`ResourceChange.referenced`), not read again."""
    patient, encounter = (claim.get("patient") or {}).get("reference"), encounter_reference(claim)
    keys = [key for key in map(named, (patient, encounter)) if key is not None and not (known and key in known)]
    resources.prefetch(keys)  # both in one statement when neither is known (issue 17)
    file = ClaimFile(claim, patient=read_reference(resources, patient, known),
                     encounter=read_reference(resources, encounter, known))
    for reference in resources.referrers("Claim", claim["id"], partition) if answered else ():
        response = read_reference(resources, reference) if reference.startswith("ClaimResponse/") else None
        found = subtype(response) if response is not None else None
        if found == "grouping":
            file.grouping = response
        elif found == codes.PURIFIKASI and _newer(response, file.purification):
            file.purification = response
        elif found == codes.VERIFIKASI and _newer(response, file.verification):
            file.verification = response
    if file.purification is not None:
        file.decisions = decisions_on(resources, file.purification["id"])
    return file


def decisions_on(resources: SqlResourceRepository, response_id: str) -> list[dict[str, Any]]:
    """The hospital's PurificationDecisions on the purification ClaimResponse/`response_id`, oldest first."""
    found = [read_reference(resources, r) for r in resources.referrers("ClaimResponse", response_id)
             if r.startswith("PurificationDecision/")]
    return sorted((d for d in found if d), key=lambda d: (d.get("meta") or {}).get("lastUpdated", ""))


def read_reference(resources: SqlResourceRepository, reference: str | None,
                   known: Mapping[tuple[str, str], StoredResource] | None = None) -> dict[str, Any] | None:
    """The content of a (relative) reference as stored, None when absent or deleted; from `known` when there."""
    key = named(reference)
    if key is None:
        return None
    stored = known.get(key) if known else None
    if stored is None:
        stored = resources.find(*key)
    return stored.content if stored is not None and not stored.deleted else None


class RememberingView:
    """A view of the writing transaction (`SYSTEM.within(tenant)`) whose `find` and `referrers` are asked once per
    transaction (`UnitOfWork.remembered`): a transaction that writes a Claim and its answer (the pipeline's grouping,
    a transaction Bundle) rewrites the same line twice from mostly the same rows (issue 17). `forget` keeps the memo
    true: a change's own version is what the transaction finds of it from then on, and any change may add or remove
    a referrer."""

    def __init__(self, resources: SqlResourceRepository, memo: dict[str, Any]):
        self.resources = resources
        self.scope = resources.scope
        self._found = memo.setdefault("found", {})  # (type, id) → {view partition: what `find` answered}
        self._referrers = memo.setdefault("referrers", {})

    @staticmethod
    def forget(memo: dict[str, Any], change: ResourceChange) -> None:
        after = change.after
        memo.setdefault("found", {})[(after.resource_type, after.id)] = {partition_of(after.tenant): after}
        memo.setdefault("referrers", {}).clear()

    def viewing(self, scope, *, timezone_name: str | None = None) -> SqlResourceRepository:
        return self.resources.viewing(scope, timezone_name=timezone_name)

    def find(self, resource_type: str, resource_id: str) -> StoredResource | None:
        found = self._found.setdefault((resource_type, resource_id), {})
        if self.scope.partition not in found:
            found[self.scope.partition] = self.resources.find(resource_type, resource_id)
        return found[self.scope.partition]

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """`SqlResourceRepository.prefetch` of the keys `find` has not answered in this view yet."""
        self.resources.prefetch([key for key in keys if self.scope.partition not in self._found.get(key, ())])

    def referrers(self, resource_type: str, resource_id: str, partition: str | None = None) -> list[str]:
        key = (resource_type, resource_id, partition, self.scope.partition)
        if key not in self._referrers:
            self._referrers[key] = self.resources.referrers(resource_type, resource_id, partition)
        return self._referrers[key]


class WorklistListener:
    """A ResourceListener: rewrites the worklist line of the Claim a change concerns, in the same transaction, once
    per write (`written`): a write of a Claim and its answer (the pipeline's grouping, a transaction Bundle) writes
    the line once, from the last of them. What the write's reference check found (`ResourceChange.referenced`: an
    answer's Claim, the Claim's Patient) is taken from the change, and what an earlier line of the same transaction
    read from its memo (`RememberingView`), not read again."""

    MEMO = "worklist"
    # what it reads of a change's `referenced`: a Claim's Patient and Encounter, an answer's Claim, a decision's
    # ClaimResponse (the reference check reads no other type's content: `FhirServices.referenced_content`)
    reads_referenced = frozenset({"Patient", "Encounter", "Claim", "ClaimResponse"})

    def __init__(self, timezone_name: str = "UTC"):
        self.timezone = timezone_name

    def resource_changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        RememberingView.forget(uow.remembered(self.MEMO), change)  # every change, whatever its type: the memo must
        # hear them all, as they happen

    def written(self, changes: Sequence[ResourceChange], uow: UnitOfWork) -> None:
        """The line of each Claim the write's changes concern, from the last change concerning it. What their
        reference checks found is read by every line of their tenant, but for what they changed since (the memo holds
        its newest version)."""
        known: dict[str | None, dict[tuple[str, str], StoredResource]] = {}
        for change in changes:
            known.setdefault(change.after.tenant, {}).update(change.referenced)
        for change in changes:
            known[change.after.tenant].pop((change.after.resource_type, change.after.id), None)
        lines: dict[tuple[str | None, str], _Line] = {}
        for change in changes:
            line = self._line_of(change, uow, known[change.after.tenant])
            if line is not None:
                lines.pop((line.stored.tenant, line.stored.id), None)  # the last one, in the order they came
                lines[(line.stored.tenant, line.stored.id)] = line
        for line in lines.values():
            if line.stored.deleted:
                uow.worklist.remove(line.stored.id, line.stored.tenant)
            else:
                save_line(line.resources, uow, line.stored, answered=line.answered, known=line.known)

    def _line_of(self, change: ResourceChange, uow: UnitOfWork,
                 known: Mapping[tuple[str, str], StoredResource]) -> _Line | None:
        """The Claim whose line a change rewrites (or removes), and how; None: no line. `known`: what the write's
        reference checks found, as this view finds it."""
        after = change.after
        if after.resource_type not in ("Claim", "ClaimResponse", "PurificationDecision"):
            return None
        if after.resource_type == "Claim" and not after.deleted and after.content.get("use") != "claim":
            return None  # a preauthorization or predetermination has no line
        resources = RememberingView(uow.resources.viewing(_system_within(after.tenant), timezone_name=self.timezone),
                                    uow.remembered(self.MEMO))
        if after.resource_type == "Claim":
            stored = after  # the change carries the Claim: no need to read it again
        else:
            claim_id = _claim_of(resources, after.resource_type, after.content or {}, after.id, known)
            stored = (known.get(("Claim", claim_id)) or resources.find("Claim", claim_id)) if claim_id else None
        if stored is None or (not stored.deleted and stored.content.get("use") != "claim"):
            return None
        # only a Claim created under an id the server just gave it is unanswered (a fresh answer answers one)
        return _Line(stored, resources, known, answered=not (change.fresh and after.resource_type == "Claim"))


@dataclass(frozen=True)
class _Line:
    """A worklist line to write: its Claim as the change left it, the view that reads around it, what the write's
    reference checks found, and whether anything can answer the Claim yet."""

    stored: StoredResource
    resources: RememberingView
    known: Mapping[tuple[str, str], StoredResource]
    answered: bool


@lru_cache(maxsize=1024)
def _system_within(tenant: str | None) -> Scope:
    """`SYSTEM.within(tenant)`, made once per tenant: a Scope is a frozen value, and `dataclasses.replace` costs
    more than the rest of the listener's bookkeeping on every write (issue 17)."""
    return SYSTEM.within(tenant)


def save_line(resources: SqlResourceRepository, uow: UnitOfWork, stored: StoredResource, *,
              answered: bool = True, known: Mapping[tuple[str, str], StoredResource] | None = None) -> None:
    """`answered` False: the Claim is new under an id the server just gave it, so nothing answers it yet. `known`:
    what the Claim's write found of its references (`ResourceChange.referenced`, as this view finds them)."""
    if resources.scope.partition != partition_of(stored.tenant):
        resources = resources.viewing(resources.scope.within(stored.tenant))  # what the Claim's references name
        known = None
    entry = worklist_entry(read_claim_file(resources, stored.content, answered=answered,
                                           partition=stored.partition, known=known), stored.tenant,
                           utc_now().replace(tzinfo=None))
    uow.worklist.save(entry, new=not answered)


def rebuild(store: Store, timezone_name: str = "UTC", batch: int = 500) -> int:
    """Every stored Claim's line written again (a database that had claims before the worklist existed);
    returns how many lines were written."""
    written, offset = 0, 0
    while True:
        with store.unit_of_work() as uow:
            resources = uow.resources.viewing(SYSTEM, timezone_name=timezone_name)
            request = parse_search("Claim", [("use", "claim"), ("_count", str(batch)), ("_offset", str(offset)),
                                             ("_sort", "_lastUpdated")])
            claims = resources.search(request).matches
            for stored in claims:
                save_line(resources, uow, stored)
        written += len(claims)
        offset += batch
        if len(claims) < batch:
            return written


def _claim_of(resources: SqlResourceRepository, kind: str, content: dict[str, Any], resource_id: str,
              known: Mapping[tuple[str, str], StoredResource] | None = None) -> str | None:
    if kind == "Claim":
        return resource_id
    if kind == "PurificationDecision":
        response = read_reference(resources, (content.get("claimResponse") or {}).get("reference"), known)
        content = response or {}
    reference = (content.get("request") or {}).get("reference") or ""
    return reference.rpartition("/")[2] if reference.startswith("Claim/") or "/Claim/" in reference else None

