"""A searchset's paging links: the search's criteria encoded once and each link's `_count` and `_offset` after them
(issue 17), the same URLs as encoding every link's parameters whole."""

from __future__ import annotations

from urllib.parse import urlencode

from fhirclaim.fhir.search_request import parse_search
from fhirclaim.interactions.bundles import _paging_links
from fhirclaim.store.repository import SearchResult

URL = "http://fhir.example/fhir/Claim"


def _links(pairs: list[tuple[str, str]], total: int) -> dict[str, str]:
    request = parse_search("Claim", pairs)
    matches = [object()] * min(request.count, max(0, total - request.offset))
    return {link["relation"]: link["url"] for link in _paging_links(URL, request, SearchResult(matches, [], total))}


def _whole(pairs: list[tuple[str, str]], count: int, offset: int) -> str:
    return f"{URL}?{urlencode(pairs + [('_count', count), ('_offset', offset)])}"


def test_links_carry_the_criteria_encoded_then_count_and_offset():
    criteria = [("identifier", "http://rs.example/claim|A 1&b=c"), ("status", "active")]
    links = _links(criteria + [("_count", "10"), ("_offset", "20")], total=45)
    assert links == {"self": _whole(criteria, 10, 20), "first": _whole(criteria, 10, 0),
                     "next": _whole(criteria, 10, 30), "previous": _whole(criteria, 10, 10),
                     "last": _whole(criteria, 10, 40)}
    assert links["next"] == f"{URL}?identifier=http%3A%2F%2Frs.example%2Fclaim%7CA+1%26b%3Dc&status=active" \
                            "&_count=10&_offset=30"


def test_links_of_a_search_without_criteria():
    links = _links([("_count", "5")], total=7)
    assert links == {"self": f"{URL}?_count=5&_offset=0", "first": f"{URL}?_count=5&_offset=0",
                     "next": f"{URL}?_count=5&_offset=5", "last": f"{URL}?_count=5&_offset=5"}
