"""The composition root: builds every long-lived part of the server from one `Settings` object.

Flask (app.py), the standalone worker and the CLI all start from a `Runtime`; nothing else constructs
databases, stores or listeners, so there are no module-level globals to reset between tests.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

from fhirclaim import bpjs, webhooks
from fhirclaim.auth.audit import AuditListener
from fhirclaim.auth.clients import ClientRegistry
from fhirclaim.auth.disclosure import DisclosureListener
from fhirclaim.auth.policy import Authorizer, write_tenant_for
from fhirclaim.auth.principal import EKLAIM, Principal
from fhirclaim.auth.security_log import SecurityLog
from fhirclaim.claims.claim_context import TenantClaimSettings
from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.claims.pipeline import PIPELINE_AUTHOR, ClaimPipeline, PipelineSettings
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.claims.trigger import ClaimServerFields, PipelineTrigger
from fhirclaim.config import Settings
from fhirclaim.eklaim import EKlaimClient, HttpTransport, InProcessTransport
from fhirclaim.interactions import capability
from fhirclaim.interactions.service import FhirService, ResourceInterceptor, ResourceListener, SearchOptions
from fhirclaim.sandbox import SandboxEKlaim
from fhirclaim.secrets import SecretBox
from fhirclaim.signing import HospitalSigning
from fhirclaim.store.db import Database
from fhirclaim.store.unit_of_work import Store, UnitOfWork
from fhirclaim.tenants import TenantSettingsStore
from fhirclaim.webapp.worklist import WorklistListener

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        from fhirclaim.signing import SigningKeyError
        from fhirclaim.startup import StartupError, ensure_directory, warn_loose_modes

        # What a user can get wrong is checked first, each a StartupError with its fix: the data dir, the database
        # URL, the secret key, the first connection (migrate), then the signing keys (whose creation logs a line).
        self.settings = settings
        self.data_dir = ensure_directory(settings.resolved_data_dir(), what="data dir",
                                         fix="point --data-dir / FHIRCLAIM_DATA_DIR at a writable directory")
        self.database = Database(settings.resolved_database_url(),
                                 connect_timeout=settings.database_connect_timeout_seconds)
        self.secrets = SecretBox.for_data_dir(self.data_dir, settings.secret_key)
        self.database.migrate()
        self.store = Store(self.database, timezone_name=settings.timezone)
        self.clients = ClientRegistry(self.store, token_lifetime_seconds=settings.token_lifetime_seconds)
        self.security_log = SecurityLog(self.store)
        self.tenants = TenantSettingsStore(self.store, self.secrets)
        passphrase = settings.signing_key_passphrase.encode() if settings.signing_key_passphrase else None
        self.signing = HospitalSigning(self.data_dir / "signing", alg=settings.signing_alg, passphrase=passphrase)
        try:
            self.signing.load()
        except (SigningKeyError, OSError) as exc:
            self.database.dispose()
            fix = "" if "backup" in str(exc) else f" — restore {self.signing.directory} from a backup of the data dir"
            raise StartupError(f"cannot load the signing keys: {exc}{fix}") from exc
        self.sandbox = SandboxEKlaim(self.data_dir, protocol=settings.eklaim_protocol)  # speaks the server's setting
        self._transports: dict[str, HttpTransport] = {}
        self._transport_lock = threading.Lock()
        self.pipeline = ClaimPipeline(
            store=self.store, service=self._pipeline_service, gateway=self.eklaim_gateway,
            tenant_settings=self.tenant_claim_settings, signer=self.sign_bundle,
            settings=PipelineSettings(
                send_to_data_centre=settings.send_to_data_centre, lease_seconds=settings.job_lease_seconds,
                backoff_initial_seconds=settings.job_backoff_initial_seconds,
                backoff_max_seconds=settings.job_backoff_max_seconds, base_url=settings.fhir_base_url(),
                timezone=settings.timezone))
        self.listeners: list[ResourceListener] = [PipelineTrigger(PIPELINE_AUTHOR), AuditListener(),
                                                  DisclosureListener(PIPELINE_AUTHOR),
                                                  WorklistListener(settings.timezone)]  # the web app's worklist
        self.interceptors: list[ResourceInterceptor] = [ClaimServerFields()]
        self.workers: list[PipelineWorker | bpjs.SimulatorWorker] = []
        self.webhook_worker = webhooks.install(self)
        self.bpjs_simulator = bpjs.install(self)  # on with --sandbox (or FHIRCLAIM_BPJS_SIMULATOR)
        self._seed_shared_resources()
        warn_loose_modes(self.data_dir)  # files at rest: a warning line for what others may read

    def fhir_service(self, uow: UnitOfWork, *, author: str | None, lenient: bool = False,
                     interceptors: Sequence[ResourceInterceptor] | None = None,
                     principal: Principal | None = None, server_authored: bool = False) -> FhirService:
        """The FHIR service on a unit of work; with a `principal`, its role's permissions apply; `server_authored`:
        the server's own writes, not validated again (FhirService.server_authored)."""
        options = SearchOptions(lenient=lenient, default_count=self.settings.default_page_size,
                                max_count=self.settings.max_page_size)
        return FhirService(uow, author=author, listeners=self.listeners,
                           interceptors=self._interceptors_for(principal) if interceptors is None else interceptors,
                           timezone=self.settings.timezone, search_options=options,
                           authorize=Authorizer(principal, uow.resources) if principal else None,
                           write_tenant=write_tenant_for(principal) if principal else None,
                           server_authored=server_authored)

    def _interceptors_for(self, principal: Principal | None) -> list[ResourceInterceptor]:
        """E-Klaim itself may post its own Package on a Claim (claims/trigger.py); every other client may not."""
        if principal is None or principal.role != EKLAIM:
            return self.interceptors
        return [ClaimServerFields.for_eklaim() if isinstance(i, ClaimServerFields) else i for i in self.interceptors]

    def _pipeline_service(self, uow: UnitOfWork, author: str) -> FhirService:
        """The pipeline writes the server's own fields, which client-side interceptors would strip, and only
        resources it built itself (not validated again)."""
        return self.fhir_service(uow, author=author, interceptors=(), server_authored=True)

    def _seed_shared_resources(self) -> None:
        """Resources every tenant refers to and none owns: the BPJS Kesehatan Organization (the insurer)."""
        bpjs = {"resourceType": "Organization", "id": self.settings.bpjs_organization_id, "active": True,
                "identifier": [{"system": "http://sys-ids.kemkes.go.id/organization",
                                "value": self.settings.bpjs_organization_id}],
                "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                      "code": "ins", "display": "Insurance Company"}]}],
                "name": "BPJS Kesehatan"}
        with self.store.unit_of_work() as uow:
            if uow.resources.find("Organization", bpjs["id"]) is None:
                self.fhir_service(uow, author="system:seed").update("Organization", bpjs["id"], bpjs)

    # --- E-Klaim, signing ----------------------------------------------------------------------------------

    def eklaim_gateway(self, tenant: str | None) -> EKlaimGateway:
        """The E-Klaim a tenant's claims go to: its own, else the server's configured one, else the sandbox's
        emulator of that hospital.

        A real E-Klaim speaks the tenant's `eklaim_protocol`, else the server's FHIRCLAIM_EKLAIM_PROTOCOL; the
        embedded sandbox always speaks the server's setting (it is built with it)."""
        config = self.tenants.get(tenant)
        url, key = (config.eklaim_url, config.eklaim_key) if config and config.eklaim_url else (
            self.settings.eklaim_url, self.settings.eklaim_key)
        if url and key:
            protocol = (config.eklaim_protocol if config else None) or self.settings.eklaim_protocol
            return EKlaimGateway(EKlaimClient(self._http_transport(url), key, protocol=protocol), protocol=protocol)
        protocol = self.settings.eklaim_protocol
        client = EKlaimClient(InProcessTransport(self.sandbox.app_for(tenant)), self.sandbox.key, protocol=protocol)
        return EKlaimGateway(client, register_coder=self.sandbox.register_coder_for(tenant), protocol=protocol)

    def _http_transport(self, url: str) -> HttpTransport:
        """One HTTP transport (a pooled `requests` session) per E-Klaim URL, kept for the process's life."""
        with self._transport_lock:
            if url not in self._transports:
                self._transports[url] = HttpTransport(url, timeout=self.settings.eklaim_timeout_seconds)
            return self._transports[url]

    def tenant_claim_settings(self, tenant: str | None) -> TenantClaimSettings:
        config = self.tenants.get(tenant)
        defaults = TenantClaimSettings(kode_tarif=self.settings.kode_tarif, timezone=self.settings.timezone)
        if config is None:
            return defaults
        return TenantClaimSettings(kode_tarif=config.kode_tarif or defaults.kode_tarif,
                                   payor_id=config.payor_id or defaults.payor_id,
                                   payor_cd=config.payor_cd or defaults.payor_cd, timezone=defaults.timezone,
                                   precheck_errors=config.precheck_errors)

    def sign_bundle(self, bundle: dict, who: dict) -> dict:
        """Signed by the hospital `who` names (`Organization/<tenant>`), with its own key (architecture §6)."""
        return self.signing.sign(bundle, who)

    def listening_on(self, base_url: str) -> None:
        """The address the server really listens on (port 0 picks one), unless a public base is configured."""
        if not self.settings.public_base_url:
            self.pipeline.settings = dataclasses.replace(self.pipeline.settings, base_url=base_url)

    # --- background work -----------------------------------------------------------------------------------

    def start_workers(self) -> None:
        """The pipeline and webhook delivery threads of `fhirclaim serve` (and `fhirclaim worker`)."""
        worker = PipelineWorker(self.pipeline, poll_seconds=self.settings.worker_poll_seconds)
        worker.start()
        self.workers.append(worker)
        self.webhook_worker.start()
        if self.bpjs_simulator is not None:  # --sandbox: BPJS-K's answers that no BPJS-K client gave in time
            simulator = bpjs.SimulatorWorker(self.bpjs_simulator, self.store)
            simulator.start()
            self.workers.append(simulator)

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()
        self.webhook_worker.stop()

    def capability_statement(self, base: str, surface: capability.RestSurface) -> dict:
        """The CapabilityStatement of what the HTTP layer routes (`surface`, from its route table)."""
        return capability.capability_statement(base, surface, sandbox=self.settings.sandbox)

    def close(self) -> None:
        self.stop_workers()
        for transport in self._transports.values():
            transport.close()
        self.sandbox.close()
        self.database.dispose()
