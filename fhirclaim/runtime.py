"""The composition root: builds every long-lived part of the server from one `Settings` object, and lists every
interceptor and listener of a write, in order, in one place (`Runtime.interceptors`, `Runtime.listeners`).

Flask (app.py), the standalone worker and the CLI all start from a `Runtime`; nothing else constructs
databases, stores or listeners, so there are no module-level globals to reset between tests. Policy lives in the
domain: which E-Klaim, which claim settings and which signing key a hospital gets is `claims/tenant_policy.py`;
each package declares its hooks (`webhooks.hooks`, `bpjs.hooks`) and this module only places them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from fhirclaim import bpjs, webhooks
from fhirclaim.auth.audit import AuditListener
from fhirclaim.auth.clients import ClientRegistry
from fhirclaim.auth.disclosure import DisclosureListener
from fhirclaim.auth.policy import Authorizer, write_tenant_for
from fhirclaim.auth.principal import EKLAIM, Principal
from fhirclaim.auth.security_log import SecurityLog
from fhirclaim.bpjs.worklist_projection import WorklistListener
from fhirclaim.claims.hospital_settings import TenantSettingsStore
from fhirclaim.claims.pipeline import ClaimPipeline, PipelineSettings
from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.claims.tenant_policy import TenantPolicy
from fhirclaim.claims.trigger import ClaimServerFields, PipelineTrigger
from fhirclaim.clock import Clock, utc_now
from fhirclaim.config import Settings
from fhirclaim.interactions import capability
from fhirclaim.interactions.service import (
    CallerAccess,
    FhirService,
    FhirServices,
    ResourceInterceptor,
    ResourceListener,
)
from fhirclaim.sandbox import SandboxEKlaim
from fhirclaim.secrets import SecretBox
from fhirclaim.signing import HospitalSigning
from fhirclaim.store import commit_notices
from fhirclaim.store.db import Database
from fhirclaim.store.notice_listener import NoticeListener, listener_for
from fhirclaim.store.socket_notices import SocketNoticeListener
from fhirclaim.store.unit_of_work import Store, UnitOfWork

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock = utc_now):
        """`clock` (an aware-datetime callable; tests pass a settable one): the one clock of the webhook outbox and
        its delivery worker, BPJS-K's decision period and the simulator."""
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
        self.tenant_policy = TenantPolicy(settings, self.tenants, self.sandbox, self.signing)
        webhook_hooks, bpjs_hooks = webhooks.hooks(settings, self.secrets, clock), bpjs.hooks(settings, clock)
        # Before a write is stored, in this order (each may refuse it or change what is stored):
        self.interceptors: tuple[ResourceInterceptor, ...] = (
            ClaimServerFields(),  # a Claim's server-owned fields stay the server's (E-Klaim's own: _caller_access)
            webhook_hooks.subscription_secrets,  # a Subscription is checked, its secret kept encrypted apart
            bpjs_hooks.answer_order,  # BPJS-K's ClaimResponses: their order, parties, cap, one live answer
            bpjs_hooks.decision_rules,  # a PurificationDecision answers its own hospital's purification, once
            bpjs_hooks.pending_answer_rules,  # a Claim version answering a pending verification names it rightly
        )
        # After it is stored, inside the writing transaction, in this order:
        self.listeners: tuple[ResourceListener, ...] = (
            bpjs_hooks.deletion_guard,  # first: refuses deleting an answer the other party acted on
            # an AuditEvent per change; before the trigger, so that on PostgreSQL its row goes in one statement with
            # the trigger's read of the failed jobs a resource may rerun (`execution._merged`)
            AuditListener(),
            PipelineTrigger(),  # a client's Claim change (or a fix of what a failed claim rests on) enqueues a job
            DisclosureListener(),  # what the server publishes (and BPJS-K's answers) is disclosed to BPJS-K
            WorklistListener(settings.timezone),  # the claim unit's worklist line of the Claim concerned
            webhook_hooks.outbox,  # one outbox row per Subscription the change matches, for the delivery worker
        )
        self.services = FhirServices(self.listeners, self.interceptors, timezone=settings.timezone,
                                     default_count=settings.default_page_size, max_count=settings.max_page_size,
                                     access=self._caller_access)
        self.pipeline = ClaimPipeline(
            store=self.store, services=self.services, policy=self.tenant_policy,
            settings=PipelineSettings(
                send_to_data_centre=settings.send_to_data_centre, lease_seconds=settings.job_lease_seconds,
                backoff_initial_seconds=settings.job_backoff_initial_seconds,
                backoff_max_seconds=settings.job_backoff_max_seconds, base_url=settings.fhir_base_url(),
                timezone=settings.timezone))
        self.workers: list[PipelineWorker | bpjs.SimulatorWorker | NoticeListener | SocketNoticeListener] = []
        self.webhook_worker = webhooks.WebhookDeliveryWorker(self.store, self.secrets, settings, clock=clock)
        # on with --sandbox (or FHIRCLAIM_BPJS_SIMULATOR); writes as a client would, through the rules above
        self.bpjs_simulator = bpjs.simulator_for(settings, self.services.for_caller, clock)
        bpjs.seed_insurer(self.store, self.services.for_caller, settings.bpjs_organization_id)  # the insurer
        warn_loose_modes(self.data_dir)  # files at rest: a warning line for what others may read

    def fhir_service(self, uow: UnitOfWork, *, author: str | None, lenient: bool = False,
                     interceptors: Sequence[ResourceInterceptor] | None = None,
                     principal: Principal | None = None) -> FhirService:
        """A client's FHIR service on a unit of work: with a `principal`, its role's permissions apply (the
        server's own writes: `services.server`)."""
        return self.services.for_caller(uow, author, principal=principal, lenient=lenient, interceptors=interceptors)

    def _caller_access(self, principal: Principal, uow: UnitOfWork) -> CallerAccess:
        """A caller's role's permissions (auth/policy.py). E-Klaim itself may post its own Package on a Claim
        (claims/trigger.py); every other client may not."""
        interceptors = None if principal.role != EKLAIM else tuple(
            ClaimServerFields.for_eklaim() if isinstance(i, ClaimServerFields) else i for i in self.interceptors)
        return CallerAccess(authorize=Authorizer(principal, uow.resources), write_tenant=write_tenant_for(principal),
                            interceptors=interceptors)

    def listening_on(self, base_url: str) -> None:
        """The address the server really listens on (port 0 picks one), unless a public base is configured."""
        if not self.settings.public_base_url:
            self.pipeline.settings = dataclasses.replace(self.pipeline.settings, base_url=base_url)

    # --- background work -----------------------------------------------------------------------------------

    def start_workers(self) -> None:
        """The pipeline and webhook delivery threads of `fhirclaim serve` (and `fhirclaim worker`)."""
        worker = PipelineWorker(self.pipeline, poll_seconds=self.settings.worker_poll_seconds)
        # a commit that queued a job or a webhook notification wakes its worker: no wait for the next poll
        self.store.on_commit(commit_notices.CLAIM_JOB_QUEUED, worker.wake)
        self.store.on_commit(commit_notices.WEBHOOK_QUEUED, self.webhook_worker.wake)
        worker.start()
        self.workers.append(worker)
        # and so does another process's: on PostgreSQL its NOTIFY, on SQLite its datagram
        listener = listener_for(self.database, self.store.announce)
        if listener is not None:
            listener.start()
            self.workers.append(listener)
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
        try:
            self.security_log.write()  # the refusals counted since its last write
        except Exception as error:  # the database is gone: say what is lost, and stop anyway
            log.warning("refused requests counted since the security log's last write are lost: %s", error)
        self.tenant_policy.close()
        self.sandbox.close()
        self.database.dispose()
