"""Hostile HTTP requests for the no-5xx fuzzing (issue 13): hypothesis strategies over every route of the route table
(`fhirclaim.api.surface.TABLE`), with mutated example resources (`examples/`), hostile parameters and headers.

Shared by tests/rest/test_fuzz.py (a few thousand requests, derandomized) and benchmarks/fuzz.py (a longer
campaign). Importable as `fuzzkit` with tests/ on the path, like testkit.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from fhirclaim.api import surface
from fhirclaim.fhir.search_params import registry

from testkit import HOSPITAL, OTHER_HOSPITAL, REPO_ROOT, bearer

EXAMPLES = REPO_ROOT / "examples"
ROLES = ("facility", "other-facility", "bpjs", "eklaim", "admin", "none", "bad-token")

# Values that broke, or could break, a parser: Unicode digits `isdigit()` takes, integers past INTEGER, offsets past
# ±14:00, lone surrogates (as JSON escapes), SQL and LIKE metacharacters, a LIKE pattern over SQLite's limit.
HOSTILE_TEXT = (
    "", " ", "²", "①", "٣", "१२", "1_000", "-1", "0", "007", "99999999999999999999", "2147483648", "1e999999",
    "NaN", "-0", "9" * 400, "2024-01-01T00:00:00+99:99", "2024-13-45", "9999-12-31", "9999-12", "0000", "٢٠٢٤-٠١-٠١",
    "\udfff", "\ud800x", "a\x00b", "%", "_", "'", "\"", "\\", "\\,", ",", "|", "||", "a|b|c", "$", "*", "null",
    "' OR 1=1 --", "Patient/", "/Patient/x", "urn:uuid:", "#", "..", "../..", "http://", "x" * 60000, "eq", "ap",
    "gt9999-12-31", "ne", "sa0000", "ap1e400", "ap1", "le-5", "W/\"1\"", "W/\"²\"", "<script>", "\u202e", "ℌ",
)
HOSTILE_JSON = (0, -1, 2**63, 10**40, -(10**40), 1.5, True, False, None, [], {}, [5], [[[]]], {"a": []}, "x" * 60000)


@dataclass
class FuzzRequest:
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    role: str = "facility"
    endpoint: str = ""  # the route table's key

    def describe(self) -> str:
        body = (self.body or b"")[:300]
        return f"{self.role} {self.method} {self.path[:200]}?{self.query[:300]} {self.headers} {body!r}"


# --- the example resources, mutated ---------------------------------------------------------------------------


def example_resources() -> list[dict[str, Any]]:
    """Every resource of every example case (examples/*/resources/*.json)."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*/resources/*.json"))]


def example_transactions() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*/transaction.json"))]


RESOURCES = example_resources()
TRANSACTIONS = example_transactions()
IDS = sorted({(r["resourceType"], r["id"]) for r in RESOURCES if "id" in r})


def _surrogate_free(text: str) -> bool:
    return not re.search("[\ud800-\udfff]", text)


url_text = st.one_of(st.sampled_from([t for t in HOSTILE_TEXT if _surrogate_free(t)]),
                     st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
json_scalar = st.one_of(st.sampled_from(HOSTILE_JSON), st.sampled_from(HOSTILE_TEXT), st.integers(),
                        st.text(max_size=12), st.booleans(), st.none())
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def _slots(document: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (paths of keys and indexes), the root included."""
    places = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            places += _slots(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            places += _slots(value, (*path, index))
    return places


def _replaced(document: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = list(document) if isinstance(document, list) else dict(document)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replaced(document[head], rest, value, delete)
    return copy


@st.composite
def mutated(draw, document: Any, max_mutations: int = 3) -> Any:
    """`document` with up to `max_mutations` places replaced by hostile JSON, or removed."""
    for _ in range(draw(st.integers(0, max_mutations))):
        path = draw(st.sampled_from(_slots(document)))
        delete = bool(path) and draw(st.booleans())
        document = _replaced(document, path, draw(json_value), delete)
    return document


def resource_of(resource_type: str | None) -> st.SearchStrategy[dict[str, Any]]:
    matching = [r for r in RESOURCES if r["resourceType"] == resource_type] or RESOURCES
    return st.sampled_from(matching).flatmap(mutated)


# --- bodies ---------------------------------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")  # ASCII, lone surrogates as \udfff escapes


raw_garbage = st.one_of(st.binary(max_size=64), st.sampled_from([
    b"", b"{", b"[", b"5", b"null", b'"x"', b"\xff\xfe", b'{"a":1,"a":2}', b'{"a":NaN}', b"[" * 200 + b"]" * 200,
    b'{"resourceType":"Patient","name":[{"family":"\\udfff"}]}']))


def _parameters(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": resource}]}


def body_for(kind: str | None, resource_type: str | None) -> st.SearchStrategy[bytes | None]:
    """A body of the kind the route table says the route takes (`openapi.BODIES`), mutated, or garbage."""
    if kind is None:
        return st.one_of(st.none(), raw_garbage)
    if kind in ("resource", "claim"):
        shaped = resource_of("Claim" if kind == "claim" else resource_type)
    elif kind in ("resource-or-parameters", "bundle-or-parameters"):
        inner = resource_of(resource_type) if kind == "resource-or-parameters" else st.sampled_from(TRANSACTIONS)
        shaped = st.one_of(inner, inner.map(_parameters)).flatmap(mutated)
    elif kind in ("bundle", "claim-or-bundle"):
        shaped = st.sampled_from(TRANSACTIONS).flatmap(lambda b: mutated(b, 4))
    elif kind == "patch":
        shaped = st.one_of(st.lists(st.fixed_dictionaries({"op": st.sampled_from(["add", "remove", "replace", "x"]),
                                                          "path": url_text, "value": json_value}), max_size=3),
                           json_value)
    elif kind == "json":
        shaped = st.one_of(json_value, st.fixed_dictionaries({}, optional={
            k: json_value for k in ("role", "org", "name", "eklaim_url", "eklaim_key", "kode_tarif", "payor_id")}))
    else:  # form bodies: a query string
        return st.lists(st.tuples(url_text, url_text), max_size=4).map(
            lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode())
    return st.one_of(shaped.map(_json_bytes), raw_garbage)


# --- URLs, query strings, headers -----------------------------------------------------------------------------


type_names = st.one_of(st.sampled_from(surface.ALL_TYPES), url_text)


def path_value(name: str, resource_type: str) -> st.SearchStrategy[str]:
    known = [i for t, i in IDS if t == resource_type] or [i for _, i in IDS]
    if name in ("version", "delivery_id"):
        return st.one_of(st.sampled_from(["1", "2", "0", "99999999999999999999", "²", "-1"]), url_text)
    return st.one_of(st.sampled_from(known), url_text)


def search_pairs(resource_type: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    names = [p.name for p in registry().for_type(resource_type)] or ["_id"]
    modifiers = ["", ":missing", ":not", ":exact", ":contains", ":below", ":Patient", ":bogus", ".name",
                 ":Patient.name"]
    name = st.one_of(st.tuples(st.sampled_from(names), st.sampled_from(modifiers)).map("".join),
                     st.sampled_from(["_count", "_offset", "_sort", "_include", "_revinclude", "_total", "_summary",
                                      "_since", "_format", "_pretty", "_elements", "trusted", "status", "url"]),
                     url_text)
    sort = st.lists(st.sampled_from(names), min_size=1, max_size=3).map(
        lambda ps: ",".join(("-" if i % 2 else "") + p for i, p in enumerate(ps)))
    value = st.one_of(url_text, sort, st.sampled_from(["2024-01-01", "ge2024", "sys|code", "Patient/ex1-patient",
                                                       "Claim:patient", "count", "true", "none"]))
    return st.lists(st.tuples(name, value), max_size=4)


def encoded_query(pairs: list[tuple[str, str]], raw: str) -> str:
    """Pairs percent-encoded as UTF-8, then raw bytes a client may send (`%ED%BF%BF`, `%FF`)."""
    return "&".join([f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs] + ([raw] if raw else []))


raw_query = st.sampled_from(["", "", "", "name=%ED%BF%BF", "name=%FF", "%", "=&=&&", "_count=%C2%B2", "a=b=c"])
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
headers = st.dictionaries(st.sampled_from(["If-Match", "If-None-Exist", "Prefer", "Content-Type", "Accept",
                                           "X-Request-Id", "Accept-Charset"]),
                          st.one_of(header_text, st.sampled_from([
                              'W/"²"', 'W/"99999999999999999999"', "handling=lenient", "return=minimal",
                              "return=OperationOutcome", "application/xml", "application/json-patch+json",
                              "application/merge-patch+json", "text/plain", "identifier=a|b", "name=x&_count=²"])),
                          max_size=3)


@st.composite
def requests(draw) -> FuzzRequest:
    """One hostile request to a route of the route table. Half are about one example resource, its type and id in
    the URL and its (mutated) self in the body, as a client would send them, so that they get past the first
    checks; the others mix everything."""
    endpoint = draw(st.sampled_from(surface.TABLE))
    example = draw(st.sampled_from(RESOURCES)) if draw(st.booleans()) else None
    resource_type = example["resourceType"] if example else draw(
        st.one_of(st.sampled_from(endpoint.types or surface.ALL_TYPES), type_names))
    path = endpoint.path
    for name in endpoint.path_params:
        value = (resource_type if name == "resource_type" else example["id"] if example and name == "resource_id"
                 else draw(path_value(name, resource_type)))
        path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    pairs = draw(search_pairs(resource_type if resource_type in surface.ALL_TYPES else "Patient"))
    pairs += [(p.name, draw(url_text)) for p in endpoint.query if draw(st.booleans())]
    header_values = draw(headers)
    if example and endpoint.body in ("resource", "resource-or-parameters"):
        body = _json_bytes(draw(mutated(example, 2)))
    else:
        body = draw(body_for(endpoint.body, resource_type))
    if body is not None and "Content-Type" not in header_values:
        header_values["Content-Type"] = _content_type(endpoint.body)
    return FuzzRequest(endpoint.method, path, encoded_query(pairs, draw(raw_query)), header_values, body,
                       draw(st.sampled_from(ROLES + ("facility",) * 3)), endpoint.key)


def _content_type(kind: str | None) -> str:
    if kind and kind.startswith("form"):
        return "application/x-www-form-urlencoded"
    if kind == "json":
        return "application/json"
    return "application/fhir+json"


# --- the server under fuzz ------------------------------------------------------------------------------------


class FuzzTarget:
    """A real app (the in-process E-Klaim emulator, SQLite in a temporary data dir) seeded with the example cases,
    and a token per role; `send` answers the status of one request."""

    def __init__(self, data_dir: Path | None = None, signing_keys: Path | None = None, database_url: str | None = None):
        """`database_url`: an empty database of its own (the tests' clone); by default the settings' (SQLite in the
        data dir unless FHIRCLAIM_DATABASE_URL names one)."""
        from fhirclaim.app import create_app
        from fhirclaim.config import Settings
        from fhirclaim.runtime import Runtime

        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="fhirclaim-fuzz-"))
        if signing_keys is not None:
            shutil.copytree(signing_keys, self.data_dir / "signing", dirs_exist_ok=True)
        chosen = {"database_url": database_url} if database_url else {}
        settings = Settings(data_dir=self.data_dir, run_worker=False, submit_wait_seconds=0.0, **chosen)
        self.runtime = Runtime(settings)
        self.app = create_app(settings, self.runtime)
        self.client = self.app.test_client()
        self.tokens = self._tokens()
        self.statuses: Counter[int] = Counter()
        self.endpoints: Counter[str] = Counter()
        self._seed()

    def _tokens(self) -> dict[str, str | None]:
        return {"facility": bearer(self.runtime, "facility", HOSPITAL),
                "other-facility": bearer(self.runtime, "facility", OTHER_HOSPITAL),
                "bpjs": bearer(self.runtime, "bpjs", None), "eklaim": bearer(self.runtime, "eklaim", HOSPITAL),
                "admin": bearer(self.runtime, "admin", None), "none": None, "bad-token": "not-a-token"}

    def _seed(self) -> None:
        for bundle in TRANSACTIONS:
            status = self.send(FuzzRequest("POST", "/fhir", body=_json_bytes(bundle),
                                           headers={"Content-Type": "application/fhir+json"})).status_code
            assert status == 200, f"seeding an example failed: {status}"
        self.statuses.clear()
        self.endpoints.clear()

    def send(self, request: FuzzRequest):
        """The response (closed) to `request`, its status counted."""
        headers = dict(request.headers)
        token = self.tokens[request.role]
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = request.path + (f"?{request.query}" if request.query else "")
        response = self.client.open(url, method=request.method, data=request.body, headers=headers)
        response.close()
        self.statuses[response.status_code] += 1
        self.endpoints[request.endpoint] += 1
        return response

    def close(self) -> None:
        self.runtime.close()
