"""`SubscriptionSecretInterceptor`: checks Subscriptions and moves their secret out of the resource.

The subscriber sets its signing secret with the extension below (valueString) on create or update. The
interceptor validates the Subscription (rest-hook, http(s) endpoint, criteria the search parser accepts), takes
the extension out of what is stored and keeps the secret encrypted in `webhook_secret`. An update without the
extension keeps the secret already stored; a Subscription that is to be delivered to (`requested`/`active`)
must have one, because every notification is signed. `requested` becomes `active`: the server has set it up
(R4 Subscription.status). An endpoint the egress policy refuses (loopback, private, this server: `egress.py`) is a
400 before anything else is looked at.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fhirclaim.clock import naive_utc_now
from fhirclaim.fhir.outcome import FhirError, Issue, error
from fhirclaim.store.unit_of_work import UnitOfWork
from fhirclaim.webhooks.criteria import parse_criteria
from fhirclaim.webhooks.egress import EgressPolicy
from fhirclaim.webhooks.secret_store import SubscriptionSecrets
from fhirclaim.webhooks.subscriptions import REST_HOOK

SECRET_EXTENSION = "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret"  # noqa: S105 (a URL)
MIN_SECRET_LENGTH = 16  # an HMAC key shorter than this is guessable offline from one signed body
PAYLOADS = ("application/json", "application/fhir+json")
_HEADER = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*[^\r\n]*")
_SIGNED = "requested", "active"


class SubscriptionSecretInterceptor:
    def __init__(self, secrets: SubscriptionSecrets, *, timezone: str = "UTC", egress: EgressPolicy | None = None):
        self.secrets = secrets
        self.timezone = timezone
        self.egress = egress or EgressPolicy()

    def before_write(self, resource: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
        if resource.get("resourceType") != "Subscription":
            return resource
        endpoint = (resource.get("channel") or {}).get("endpoint")
        refusal = self.egress.endpoint_refusal(endpoint) if isinstance(endpoint, str) else None
        if refusal:
            raise FhirError.of(400, "security", refusal, "Subscription.channel.endpoint")
        resource, secret, issues = take_secret(resource)
        issues += channel_issues(resource) + parse_criteria(resource.get("criteria"), self.timezone)[1]
        status = resource.get("status")
        if status in _SIGNED and secret is None and not self.secrets.exists(uow, resource["id"]):
            issues.append(error("required", f"A rest-hook Subscription with status {status} needs its signing "
                                            f"secret in the extension {SECRET_EXTENSION} (valueString): every "
                                            f"notification is signed with it", "Subscription.extension"))
        if issues:
            raise FhirError(422, issues)
        if secret is not None:
            self.secrets.put(uow, resource["id"], secret, naive_utc_now())
        return {**resource, "status": "active"} if status == "requested" else resource


def take_secret(resource: dict[str, Any]) -> tuple[dict[str, Any], str | None, list[Issue]]:
    """(the resource without the secret extension, the secret or None, issues with the extension)."""
    extensions = resource.get("extension") or []
    ours = [e for e in extensions if isinstance(e, dict) and e.get("url") == SECRET_EXTENSION]
    if not ours:
        return resource, None, []
    rest = [e for e in extensions if not (isinstance(e, dict) and e.get("url") == SECRET_EXTENSION)]
    stripped = {k: v for k, v in resource.items() if k != "extension"}
    if rest:
        stripped["extension"] = rest
    where = "Subscription.extension"
    secret = ours[0].get("valueString")
    if len(ours) > 1:
        return stripped, None, [error("invariant", "The subscription-secret extension may appear only once", where)]
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return stripped, None, [error("value", f"The subscription secret is a valueString of at least "
                                               f"{MIN_SECRET_LENGTH} characters", where)]
    return stripped, secret, []


def _url_parts(endpoint: Any):
    """The endpoint split, or None when it is no URL (`http://[::1/`, a port out of range: ValueError)."""
    if not isinstance(endpoint, str):
        return None
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return None
    return parts


def channel_issues(resource: dict[str, Any]) -> list[Issue]:
    """Every problem with `Subscription.channel`: only rest-hook to an http(s) URL, JSON payload, sane headers."""
    channel = resource.get("channel") or {}
    issues = []
    if channel.get("type") != REST_HOOK:
        issues.append(error("not-supported", f"This server only delivers rest-hook Subscriptions, not "
                                             f"{channel.get('type')!r}", "Subscription.channel.type"))
    endpoint = channel.get("endpoint")
    parts = _url_parts(endpoint)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        issues.append(error("required" if endpoint is None else "value",
                            "A rest-hook Subscription needs channel.endpoint, an http(s) URL",
                            "Subscription.channel.endpoint"))
    payload = channel.get("payload")
    if payload is not None and payload.split(";", 1)[0].strip() not in PAYLOADS:
        issues.append(error("not-supported", f"Notifications are JSON (the SATUSEHAT envelope); payload "
                                             f"{payload!r} is not offered", "Subscription.channel.payload"))
    for index, header in enumerate(channel.get("header") or []):
        if not isinstance(header, str) or not _HEADER.fullmatch(header):
            issues.append(error("value", "channel.header lines are 'Name: value'",
                                f"Subscription.channel.header[{index}]"))
    return issues
