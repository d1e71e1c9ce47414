"""The claim worklist table (`claim_worklist`): one line per Claim, written inside each transaction that changes a
claim, read by the web app to list, filter, search, sort, page and count a hospital's claims in SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, select, union, update
from sqlalchemy.orm import Session

from fhirclaim.store.execution import execute, execute_later
from fhirclaim.store.models import WorklistRow
from fhirclaim.store.scope import partition_of

SORTS = {"sep": WorklistRow.sep, "patient": WorklistRow.patient_search, "start": WorklistRow.episode_start,
         "status": WorklistRow.status, "updated": WorklistRow.updated_at}
SEP_OR_MR = re.compile(r"^[A-Za-z0-9-]*\d[A-Za-z0-9-]*$")  # has a digit: a SEP (prefix) or an MR number


@dataclass(frozen=True)
class WorklistQuery:
    """A parsed worklist request: `stage` attention | progress | done | None (all), `attention` one cause."""

    tenant: str
    stage: str | None = None
    attention: str | None = None
    text: str = ""
    sort: str = "updated"
    descending: bool = True
    page: int = 1
    size: int = 25


_LINES = WorklistRow.__table__
FIELDS = [c.key for c in _LINES.columns if c.key != "partition"]
# save's statements, built once (issue 17): Core, no ORM object per line. The UPDATE sets the columns its
# parameters name (every field but the key and `created_at`).
_INSERT_LINE = insert(_LINES)
_UPDATE_LINE = update(_LINES).where(_LINES.c.partition == bindparam("line_partition"),
                                    _LINES.c.claim_id == bindparam("line_claim_id"))
_GET_LINE = select(*(_LINES.c[name] for name in FIELDS)).where(_LINES.c.partition == bindparam("partition"),
                                                              _LINES.c.claim_id == bindparam("claim_id"))


def _as_dict(row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


class WorklistRepository:
    def __init__(self, session: Session):
        self.session = session

    def save(self, entry: dict[str, Any], *, new: bool = False) -> None:
        """Insert or replace the line of `entry['claim_id']` (in its tenant), keeping when it was first seen.
        `new`: the Claim was created just now under an id the server generated, so it has no line yet."""
        partition = partition_of(entry["tenant"])
        if not new:
            changes = {name: value for name, value in entry.items() if name not in ("claim_id", "created_at")}
            if execute(self.session, _UPDATE_LINE, {**changes, "line_partition": partition,
                                                   "line_claim_id": entry["claim_id"]}).rowcount:
                return
        execute_later(self.session, _INSERT_LINE, {"partition": partition, **entry})

    def remove(self, claim_id: str, tenant: str | None) -> None:
        """A deleted Claim leaves the worklist."""
        self.session.execute(delete(WorklistRow).where(WorklistRow.partition == partition_of(tenant),
                                                       WorklistRow.claim_id == claim_id))

    def save_many(self, entries: list[dict[str, Any]]) -> None:
        """Insert new lines in bulk (benchmarks; a rebuild of the worklist from the stored Claims)."""
        if entries:
            self.session.execute(insert(WorklistRow), [{"partition": partition_of(e["tenant"]), **e}
                                                       for e in entries])

    def get(self, tenant: str, claim_id: str) -> dict[str, Any] | None:
        row = execute(self.session, _GET_LINE, {"partition": partition_of(tenant), "claim_id": claim_id}).first()
        return _as_dict(row) if row is not None else None

    def page(self, query: WorklistQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of lines and the number of lines matching."""
        where = self._where(query)
        total = self.session.execute(select(func.count()).select_from(WorklistRow).where(where)).scalar_one()
        column = SORTS.get(query.sort, WorklistRow.updated_at)
        order = [c.desc() if query.descending else c.asc() for c in (column, WorklistRow.claim_id)]
        rows = self.session.execute(select(*(_LINES.c[name] for name in FIELDS)).where(where).order_by(*order)
                                    .limit(query.size).offset((query.page - 1) * query.size))
        return [_as_dict(r) for r in rows], total

    def counts(self, tenant: str) -> dict[str, int]:
        """Lines per stage and per attention cause (`attention:<cause>`)."""
        found: dict[str, int] = {}
        for stage, attention, count in self.session.execute(
                select(WorklistRow.stage, WorklistRow.attention, func.count()).where(WorklistRow.tenant == tenant)
                .group_by(WorklistRow.stage, WorklistRow.attention)):
            found[stage] = found.get(stage, 0) + count
            if attention:
                found[f"attention:{attention}"] = found.get(f"attention:{attention}", 0) + count
        return found

    def since(self, tenant: str, start: datetime) -> list[dict[str, Any]]:
        """The lines of claims first seen since `start` (the dashboard's month), only the columns it sums."""
        columns = (WorklistRow.status, WorklistRow.care_type, WorklistRow.tariff, WorklistRow.tarif_rs,
                   WorklistRow.causes, WorklistRow.attention, WorklistRow.episode_end, WorklistRow.submitted_at,
                   WorklistRow.paid_at)
        rows = self.session.execute(select(*columns).where(WorklistRow.tenant == tenant,
                                                            WorklistRow.created_at >= start))
        return [dict(r._mapping) for r in rows]

    @staticmethod
    def _where(query: WorklistQuery) -> ColumnElement[bool]:
        conditions = [WorklistRow.tenant == query.tenant]
        if query.stage:
            conditions.append(WorklistRow.stage == query.stage)
        if query.attention:
            conditions.append(WorklistRow.attention == query.attention)
        text = query.text.strip()
        if SEP_OR_MR.match(text):  # index lookups first (a SEP prefix as a range, an MR number), then the rest
            tenant = WorklistRow.tenant == query.tenant
            found = union(
                select(WorklistRow.claim_id).where(tenant, WorklistRow.sep >= text, WorklistRow.sep < text + "\uffff"),
                select(WorklistRow.claim_id).where(tenant, WorklistRow.mr_number == text))
            conditions.append(WorklistRow.claim_id.in_(found))
        elif text:  # a part of the patient's name
            conditions.append(WorklistRow.patient_search.contains(text.lower(), autoescape=True))
        return and_(*conditions)
