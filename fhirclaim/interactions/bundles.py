"""Bundles the server answers with: searchset (with paging links), history, and response entries."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fhirclaim.clock import utc_now
from fhirclaim.fhir import dates
from fhirclaim.fhir.search_request import SearchRequest
from fhirclaim.store.repository import HistoryPage, SearchResult, StoredResource

STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content", 400: "400 Bad Request",
               401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found", 409: "409 Conflict",
               410: "410 Gone", 412: "412 Precondition Failed", 422: "422 Unprocessable Entity"}


def status_line(status: int) -> str:
    return STATUS_TEXT.get(status, str(status))


def full_url(base: str, stored: StoredResource) -> str:
    return f"{base}/{stored.resource_type}/{stored.id}"


def location(base: str, stored: StoredResource) -> str:
    return f"{base}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"


def last_modified(stored: StoredResource) -> str:
    return dates.instant(stored.last_updated)


def searchset(base: str, request: SearchRequest, result: SearchResult) -> dict[str, Any]:
    entries = [_search_entry(base, s, "match") for s in result.matches]
    entries += [_search_entry(base, s, "include") for s in result.included]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                              "meta": {"lastUpdated": dates.instant(utc_now())}, "type": "searchset"}
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = _paging_links(f"{base}/{request.resource_type}", request, result)
    if entries:
        bundle["entry"] = entries
    return bundle


def _search_entry(base: str, stored: StoredResource, mode: str) -> dict[str, Any]:
    return {"fullUrl": full_url(base, stored), "resource": stored.content, "search": {"mode": mode}}


def _paging_links(url: str, request: SearchRequest, result: SearchResult) -> list[dict[str, str]]:
    # The criteria are the same in every link: encoded once (up to five links; encoding is most of their cost).
    criteria = urlencode([(k, v) for k, v in request.used if k not in ("_count", "_offset")])
    start = f"{url}?{criteria}&_count={request.count}" if criteria else f"{url}?_count={request.count}"

    def page(offset: int) -> str:
        return f"{start}&_offset={offset}"

    links = [{"relation": "self", "url": page(request.offset)}]
    if request.summary_count or request.count == 0:
        return links
    links.append({"relation": "first", "url": page(0)})
    more = (result.total > request.offset + len(result.matches) if result.total is not None
            else len(result.matches) == request.count)
    if more:
        links.append({"relation": "next", "url": page(request.offset + request.count)})
    if request.offset > 0:
        links.append({"relation": "previous", "url": page(max(0, request.offset - request.count))})
    if result.total is not None and result.total > 0:
        last = ((result.total - 1) // request.count) * request.count if request.count else 0
        links.append({"relation": "last", "url": page(last)})
    return links


def history_bundle(base: str, url: str, page: HistoryPage, count: int, offset: int,
                   criteria: list[tuple[str, str]]) -> dict[str, Any]:
    def link(at: int) -> str:
        return f"{url}?{urlencode(criteria + [('_count', count), ('_offset', at)])}"

    links = [{"relation": "self", "url": link(offset)}]
    if page.total > offset + len(page.versions):
        links.append({"relation": "next", "url": link(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": link(max(0, offset - count))})
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "history", "total": page.total, "link": links,
        "entry": [_history_entry(base, v) for v in page.versions],
    }


def _history_entry(base: str, stored: StoredResource) -> dict[str, Any]:
    method = {"POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}.get(stored.method, "PUT")
    url = stored.resource_type if method == "POST" else f"{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {"fullUrl": full_url(base, stored)}
    if stored.content is not None:
        entry["resource"] = stored.content
    entry["request"] = {"method": method, "url": url}
    entry["response"] = {"status": status_line(201 if method == "POST" else 204 if stored.deleted else 200),
                         "etag": stored.etag, "lastModified": last_modified(stored)}
    return entry


def response_entry(base: str, status: int, stored: StoredResource | None = None,
                   resource: dict[str, Any] | None = None, outcome: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of a batch/transaction-response."""
    response: dict[str, Any] = {"status": status_line(status)}
    entry: dict[str, Any] = {}
    if stored is not None:
        entry["fullUrl"] = full_url(base, stored)
        response["location"] = location(base, stored)
        response["etag"] = stored.etag
        response["lastModified"] = last_modified(stored)
    if resource is not None:
        entry["resource"] = resource
    if outcome is not None:
        response["outcome"] = outcome
    entry["response"] = response
    return entry
