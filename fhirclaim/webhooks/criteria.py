"""A Subscription's `criteria` (`Type?params`), parsed and checked with the server's own search parser.

Matching a change is then a search: the criteria plus `_id=<changed id>`, so every parameter the REST search
supports (chains such as `request.provider=Organization/x` included) means exactly the same in a Subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fhirclaim.fhir.outcome import FhirError, Issue, error
from fhirclaim.fhir.search_request import RESULT_PARAMETERS, SearchRequest, parse_search
from fhirclaim.fhir.validation import STORED_TYPES

_EXPRESSION = "Subscription.criteria"
UNWATCHABLE = frozenset({"Subscription"})  # a subscriber is never told of Subscriptions (its own or others')


@dataclass(frozen=True)
class Criteria:
    resource_type: str
    pairs: tuple[tuple[str, str], ...]

    def search_for(self, resource_id: str, timezone: str) -> SearchRequest:
        """The search that finds the resource `resource_id` exactly when it meets the criteria."""
        return parse_search(self.resource_type, [*self.pairs, ("_id", resource_id)], timezone=timezone)


def parse_criteria(text: object, timezone: str = "UTC") -> tuple[Criteria | None, list[Issue]]:
    """(criteria, []) or (None, issues saying what is wrong), every issue at `Subscription.criteria`."""
    if not isinstance(text, str) or not text.strip():
        return None, [error("required", "A Subscription needs criteria of the form Type?params", _EXPRESSION)]
    resource_type, _, query = text.strip().partition("?")
    if resource_type not in STORED_TYPES or resource_type in UNWATCHABLE:
        return None, [error("value", f"criteria: {resource_type!r} is not a resource type this server notifies "
                                     f"about (criteria are Type?params, e.g. ClaimResponse?request.provider="
                                     f"Organization/x)", _EXPRESSION)]
    pairs = parse_qsl(query, keep_blank_values=True)
    issues = [error("not-supported", f"criteria: {key} is a result parameter, not a filter", _EXPRESSION)
              for key, _ in pairs if key.split(":", 1)[0] in RESULT_PARAMETERS]
    if issues:
        return None, issues
    try:
        parse_search(resource_type, pairs, timezone=timezone)
    except FhirError as exc:
        return None, [error(i.code, f"criteria: {i.text}", _EXPRESSION) for i in exc.issues]
    return Criteria(resource_type, tuple(pairs)), []
