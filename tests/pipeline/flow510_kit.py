"""The claim pipeline on an emulated E-Klaim 5.10 (or 5.1) served over real HTTP, with the wire seen: each call's
method, metadata and data in order, answers that can be lost, and something done in E-Klaim just before a call.
The fixtures `on510` / `on51` (conftest.py) build it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline_kit import CODER_NAME, CODER_NIK, post_transaction, put, run_jobs, serve_wsgi

from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.eklaim import EKlaimClient, EKlaimTransportError, HttpTransport, crypto
from fhirclaim.eklaim.emulator import EmulatorConfig, create_emulator_app


@dataclass
class Wire:
    """The pipeline's E-Klaim over HTTP, seen on the wire: each call's method (grouper:<name>:<stage>), metadata
    and data, in order, and the error_no of each answer that refused one (`refused`). `lose_answer_once(method)`:
    E-Klaim does that call's work once and its answer is lost."""

    inner: HttpTransport
    key: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lose: set[str] = field(default_factory=set)
    before: dict[str, Any] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def post(self, body: bytes, *, debug: bool = False) -> bytes:
        message = json.loads(crypto.decrypt(body, self.key))
        metadata = message["metadata"]
        method = metadata["method"]
        name = f"grouper:{metadata['grouper']}" if method == "grouper" and "grouper" in metadata else method
        if method == "grouper" and metadata.get("stage") == "2":
            name += ":2"
        self.calls.append((name, message))
        if name in self.before:
            self.before.pop(name)()
        answer = self.inner.post(body, debug=debug)
        status = json.loads(crypto.decrypt(answer, self.key)).get("metadata") or {}
        if str(status.get("code")) != "200":
            self.refused.append((name, status.get("error_no")))
        if name in self.lose:
            self.lose.discard(name)
            raise EKlaimTransportError(f"injected: the answer of {name} was lost", retryable=True)
        return answer

    def clear(self) -> None:
        """Forget the calls seen so far (and their refusals)."""
        self.calls.clear()
        self.refused.clear()

    def lose_answer_once(self, method: str) -> None:
        self.lose.add(method)

    def methods(self, *, reads: bool = False) -> list[str]:
        return [m for m, _ in self.calls if reads or not m.endswith("_get") and m != "get_claim_data"]


@dataclass
class Eklaim510:
    runtime: Any
    wire: Wire
    client: EKlaimClient  # the hospital's own view of E-Klaim (tests call it directly)


def _served_emulator(tmp_path, grouper, protocol: str):
    key = crypto.generate_key()
    app = create_emulator_app(EmulatorConfig(key_hex=key, grouper=grouper, protocol=protocol,
                                             database_url=f"sqlite:///{tmp_path / f'eklaim-{protocol}.db'}"))
    app.register_coder(CODER_NIK, CODER_NAME)
    url, stop = serve_wsgi(app)
    return app, key, url, stop


def eklaim_stack(tmp_path, settings, grouper, protocol: str) -> Iterator[Eklaim510]:
    from fhirclaim.runtime import Runtime

    app, key, url, stop = _served_emulator(tmp_path, grouper, protocol)
    runtime = Runtime(settings.model_copy(update={"eklaim_url": url, "eklaim_key": key,
                                                  "eklaim_protocol": protocol}))
    gateway = runtime.tenant_policy.eklaim_gateway(None)
    assert gateway.protocol == gateway.client.protocol == protocol
    wire = Wire(HttpTransport(url, timeout=30), key)
    client = EKlaimClient(wire, key, protocol=protocol, sleep=lambda _: None)
    runtime.tenant_policy.eklaim_gateway = lambda tenant: EKlaimGateway(client, protocol=protocol)
    yield Eklaim510(runtime, wire, EKlaimClient(HttpTransport(url, timeout=30), key, protocol=protocol))
    runtime.close()
    stop()
    app.close()


def submit(stack: Eklaim510, resource_or_bundle: dict[str, Any]) -> list:
    if resource_or_bundle["resourceType"] == "Bundle":
        post_transaction(stack.runtime, resource_or_bundle)
    else:
        put(stack.runtime, resource_or_bundle)
    return run_jobs(stack.runtime)
