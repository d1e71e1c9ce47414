"""One typed settings object for the whole server.

Values come from keyword arguments (the CLI), then `FHIRCLAIM_*` environment variables, then the defaults
below. Nothing else in the code base reads the environment: the settings object is passed down.
`load_settings` is how the command line builds it: a value that does not validate is a `StartupError` naming the
setting, not a pydantic traceback.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fhirclaim.startup import StartupError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FHIRCLAIM_", extra="ignore")

    # --- storage -------------------------------------------------------------------------------------------
    data_dir: Path = Field(default=Path("fhirclaim-data"), description="keys, SQLite file, emulator state")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    database_connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="give up connecting to PostgreSQL after this long (start fails fast)")

    # --- HTTP ----------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str | None = Field(default=None, description="external FHIR base, e.g. behind a proxy")
    max_body_bytes: int = 10 * 1024 * 1024
    max_json_depth: int = 64
    default_page_size: int = 20
    max_page_size: int = 500
    sandbox: bool = False
    token_lifetime_seconds: int = 3600
    trusted_proxies: str = Field(default="", description="CIDRs of reverse proxies whose X-Forwarded-For and "
                                                         "X-Forwarded-Proto are believed (comma-separated); none by "
                                                         "default")

    secret_key: str | None = Field(default=None, repr=False,
                                   description="Fernet key for secrets at rest; default DATA_DIR/secret.key")

    # --- E-Klaim -------------------------------------------------------------------------------------------
    eklaim_url: str | None = Field(default=None, description="real E-Klaim ws.php; None = in-process emulator")
    eklaim_key: str | None = Field(default=None, repr=False, description="64 hex chars; never logged")
    eklaim_timeout_seconds: float = 30.0
    eklaim_protocol: str = Field(default="5.10", pattern=r"^(5\.10|5\.1)$",
                                 description="what E-Klaim speaks: 5.10 (iDRG coding, today's servers) or 5.1; "
                                             "the embedded sandbox speaks it too; hospitals may override it")
    timezone: str = "Asia/Jakarta"

    kode_tarif: str = Field(default="BP", description="INA-CBG tariff class of the hospital (AP, BP, CS, ...)")
    bpjs_organization_id: str = Field(default="100025555", description="id of the shared BPJS Kesehatan Organization")
    send_to_data_centre: bool = True

    # --- pipeline / worker ---------------------------------------------------------------------------------
    run_worker: bool = True
    worker_poll_seconds: float = 0.5
    submit_wait_seconds: float = 15.0
    job_lease_seconds: float = 120.0
    job_backoff_initial_seconds: float = 2.0
    job_backoff_max_seconds: float = 600.0

    # --- BPJS-K side (fhirclaim/bpjs) -----------------------------------------------------------------------
    bpjs_simulator: bool = Field(default=False, description="answer published claims as BPJS-K would (sandbox); "
                                                            "sandbox turns it on too")
    bpjs_simulator_delay_seconds: float = Field(
        default=10.0, ge=0, description="the simulator answers only what no BPJS-K client answered within this many "
                                        "seconds (of a publication, a decision, the decision period's end)")
    purification_decision_timeout_hours: float = Field(
        default=72.0, ge=0, description="hours a hospital has to answer a purification with a PurificationDecision; "
                                        "after them BPJS-K may verify without it")

    # --- signing -------------------------------------------------------------------------------------------
    signing_alg: str = Field(default="RS256", pattern="^(RS256|ES256)$")
    signing_key_passphrase: str | None = Field(default=None, repr=False, description="encrypts the signing keys "
                                               "(hospitals' and the CA's) at rest in DATA_DIR/signing")

    # --- webhooks (fhirclaim/webhooks) -----------------------------------------------------------------------
    webhook_max_attempts: int = Field(default=10, ge=1, description="attempts before a delivery is dead")
    webhook_backoff_initial_seconds: float = Field(default=1.0, ge=0, description="delay after the 1st failure")
    webhook_backoff_multiplier: float = Field(default=2.0, ge=1, description="each further delay grows by this")
    webhook_backoff_max_seconds: float = Field(default=3600.0, ge=0, description="cap on one delay")
    webhook_backoff_jitter: float = Field(default=0.1, ge=0, le=1, description="random spread, fraction of delay")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="connect and read timeout of one POST")
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="delivery worker's idle poll interval")
    webhook_parallel_deliveries: int = Field(default=4, ge=1, le=64, description="POSTs in flight at once, at most "
                                                                                 "one per Subscription")
    webhook_allowed_hosts: str = Field(
        default="", description="comma-separated host names, addresses or CIDRs webhooks may go to although they "
                                "are loopback, private, link-local or this server (the sandbox allows 127.0.0.1)")

    @field_validator("trusted_proxies", "webhook_allowed_hosts")
    @classmethod
    def _cidrs_or_hosts(cls, value: str, info) -> str:
        """Each entry an address or CIDR (trusted proxies), or also a host name (webhook hosts)."""
        for entry in filter(None, (e.strip() for e in value.split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if info.field_name == "trusted_proxies" or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", entry):
                    raise ValueError(f"{entry!r} is not an address or CIDR") from None
        return value

    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def fhir_base_url(self) -> str:
        """The FHIR base the server is known by outside a request (fullUrls of signed Bundles)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}/fhir").rstrip("/")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'fhirclaim.db'}"


def load_settings(**overrides) -> Settings:
    """Settings from `overrides` (the command line's options), the environment and the defaults; StartupError
    naming the first setting that does not validate (never its value: it may be a key)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = error.errors()
        first = problems[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        source = f"--{name.replace('_', '-')}" if name in overrides else f"FHIRCLAIM_{name.upper()}"
        raise StartupError(f"invalid setting {source}: {first['msg']}{more}; fix it or leave it unset for the "
                           f"default") from None
