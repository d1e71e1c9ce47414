"""The sandbox E-Klaim as a WSGI app: `POST /E-Klaim/ws.php` (and `?mode=debug`), one handler per method.

Each call runs in one database transaction, serialised by a lock (E-Klaim is a single-hospital app; the sandbox
values determinism over throughput): a refusal (E20xx) rolls back everything the call did.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator.answers import WsError, refusal
from fhirclaim.eklaim.emulator.calls import Call, Environment
from fhirclaim.eklaim.emulator.config import EmulatorConfig, TerminologyCodes, default_grouper
from fhirclaim.eklaim.emulator.fields import parse_timestamp
from fhirclaim.eklaim.emulator.models import Claim, Patient
from fhirclaim.eklaim.emulator.protocol import METHODS as METHODS_BY_PROTOCOL
from fhirclaim.eklaim.emulator.protocol import METHODS_51, check_parameters
from fhirclaim.eklaim.emulator.store import EmulatorStore, live_claims_by_sep, record_event, upsert_coder
from fhirclaim.eklaim.emulator.wire import decode_request, encode_answer
from fhirclaim.inacbg.idrg import IdrgGrouper

log = logging.getLogger(__name__)

WS_PATH = "/E-Klaim/ws.php"
DEBUG_NOT_ALLOWED = b"MODE DEBUG IS NOT ALLOWED"

METHODS = METHODS_51  # the 2017 table under its old name (tests replace entries of it)


class EmulatorApp:
    """A WSGI callable, plus the Python-level doors the embedded sandbox and tests use (coders, BPJS status)."""

    def __init__(self, config: EmulatorConfig, environment: Environment, store: EmulatorStore) -> None:
        self.config = config
        self.environment = environment
        self.store = store
        self._lock = threading.Lock()
        self._coders: dict[str, str] = {}  # NIK → name, as this app registered them (`register_coder`)

    # --- WSGI -----------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        try:
            if request.path != WS_PATH:
                raise NotFound()
            if request.method != "POST":
                raise MethodNotAllowed(valid_methods=["POST"])
            debug = request.args.get("mode") == "debug"
            if debug and not self.config.allow_debug:
                return Response(DEBUG_NOT_ALLOWED, content_type="text/html; charset=UTF-8")
            if (request.content_length or 0) > self.config.max_body_bytes:
                raise RequestEntityTooLarge()
            request.max_content_length = self.config.max_body_bytes
            body = request.get_data(cache=False)
        except HTTPException as error:
            return error.get_response()
        content_type = "application/json" if debug else "text/plain; charset=UTF-8"
        return Response(self.handle(body, debug=debug), content_type=content_type)

    # --- the protocol ---------------------------------------------------------------------------------------

    def handle(self, body: bytes, *, debug: bool = False) -> bytes:
        """Request body → answer body (decrypt, dispatch, encrypt), exactly as served over HTTP."""
        try:
            message = decode_request(body, debug=debug, key_hex=self.config.key_hex)
        except WsError as error:
            log.info("ws.php request refused: %s", error.error_no)
            answer = refusal(error)
        else:
            answer = self.dispatch(message)
        return encode_answer(answer, debug=debug, key_hex=self.config.key_hex)

    def dispatch(self, message: dict[str, Any]) -> dict[str, Any]:
        """A decoded message → the answer dict; one transaction, rolled back on refusal."""
        method = message["metadata"].get("method")
        methods = METHODS_BY_PROTOCOL[self.config.protocol]
        handler = methods.get(method) if isinstance(method, str) else None
        try:
            if handler is None:
                raise WsError("E2001")
            if self.config.protocol == "5.10":
                check_parameters(method, message["data"])
            with self._lock, self.store.transaction() as session:
                call = Call(self.environment, session, message["metadata"], message["data"], self.config.clock())
                answer = handler(call)
        except WsError as error:
            log.info("ws.php %s refused: %s", method, error.error_no)
            return refusal(error)
        except Exception:  # a bug must still answer in the protocol, as PHP's E2099 does
            log.exception("ws.php %s failed", method)
            return refusal(WsError("E2099"))
        log.info("ws.php %s ok", method)
        return answer

    # --- doors for the sandbox and tests --------------------------------------------------------------------

    def register_coder(self, nik: str, name: str) -> None:
        """Personnel Registration: a user whose NIK may be sent as coder_nik. The sandbox registers the coder before
        each call that names one; a registration this app made already, name and all, writes nothing (issue 17)."""
        nik, name = nik.strip(), name.strip()
        if not nik:
            raise ValueError("a coder needs a NIK")
        with self._lock:
            if self._coders.get(nik) == name:
                return
            with self.store.transaction() as session:
                upsert_coder(session, nik, name)
            self._coders[nik] = name

    def set_bpjs_claim_status(self, nomor_sep: str, kd_status: str | None, nm_status: str | None = None) -> None:
        """What simulated BPJS answers get_claim_status for the SEP (e.g. "40", "40_Proses_Cabang"); None
        makes BPJS answer nothing (E2020)."""
        with self._lock, self.store.transaction() as session:
            found = live_claims_by_sep(session, nomor_sep)
            if not found:
                raise LookupError(f"no claim with SEP {nomor_sep}")
            for claim in found:
                claim.bpjs_klaim_status_cd = kd_status
                claim.bpjs_klaim_status_nm = nm_status if kd_status is not None else None

    def import_admission(self, nomor_sep: str, nomor_rm: str, nama_pasien: str, tgl_lahir: str = "",
                         gender: str = "", tgl_masuk: str = "") -> int:
        """Add an admission the way E-Klaim's Migrasi menu does: without the web service's duplicate-SEP check.
        This is how real databases come to hold the duplicates that E2003 reports. Returns its id."""
        now = self.config.clock()
        with self._lock, self.store.transaction() as session:
            patient = Patient(nomor_rm=nomor_rm, nama_pasien=nama_pasien, tgl_lahir=tgl_lahir, gender=gender,
                              nomor_kartu="", admission_count=1)
            masuk = parse_timestamp(tgl_masuk)
            claim = Claim(patient=patient, admission_id=1, nomor_sep=nomor_sep, created_at=now, updated_at=now,
                          tgl_masuk=masuk.strftime("%Y-%m-%d %H:%M:%S") if masuk else "")
            session.add_all([patient, claim])
            session.flush()
            record_event(session, claim, "import", now)
            return claim.id

    def close(self) -> None:
        self.store.dispose()


def create_emulator_app(config: EmulatorConfig, protocol: str | None = None) -> EmulatorApp:
    """Build the app: check the key, open the store, load the groupers and the ICD tables once, register coders.
    `protocol` ("5.10" | "5.1"), when given, replaces the config's."""
    if protocol is not None:
        config = dataclasses.replace(config, protocol=protocol)
    crypto.encrypt(b"", config.key_hex)  # InvalidKeyError now rather than at the first request
    environment = Environment(config=config,
                              grouper=config.grouper or default_grouper(config.tariff_table),
                              codes=config.codes or TerminologyCodes(),
                              idrg=IdrgGrouper() if config.protocol == "5.10" else None)
    app = EmulatorApp(config, environment, EmulatorStore(config.database_url))
    for nik, name in config.coders:
        app.register_coder(nik, name)
    return app
