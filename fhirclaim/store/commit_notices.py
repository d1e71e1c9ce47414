"""News of a commit for the threads of this process that wait for it: "a claim job was queued", "a webhook
notification was queued".

A repository that writes such a row calls `notice(session, topic)`; when the unit of work commits,
`Store.unit_of_work` hands each topic noticed in it to the callbacks registered for it (`Store.on_commit`), once
per transaction — the pipeline worker and the webhook delivery worker wake instead of waiting for their next poll.
A rolled-back unit of work announces nothing. Other processes (a `fhirclaim worker` beside the web processes) are
told on PostgreSQL: its NOTIFY, sent by triggers on the rows' tables, reaches their `notice_listener.py`. On SQLite
`Store.unit_of_work` sends them each topic itself, a datagram to their sockets (`socket_notices.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

CLAIM_JOB_QUEUED = "claim job queued"
WEBHOOK_QUEUED = "webhook notification queued"

# PostgreSQL's NOTIFY channel of each topic, for the other processes (`notice_listener.py`): migration 0023's
# triggers notify on them when a statement inserts into `claim_job` or `webhook_delivery`
CHANNELS = {CLAIM_JOB_QUEUED: "fhirclaim_claim_job_queued", WEBHOOK_QUEUED: "fhirclaim_webhook_queued"}

Announce = Callable[[str], None]  # what hands a topic to the callbacks `Store.on_commit` registered (`Store.announce`)

_NOTICED = "fhirclaim.commit_notices"


def notice(session: Session, topic: str) -> None:
    """Announce `topic` when this session's transaction commits."""
    session.info.setdefault(_NOTICED, set()).add(topic)


def taken(session: Session) -> set[str]:
    """The topics noticed in this session (and forgets them)."""
    return session.info.pop(_NOTICED, set())
