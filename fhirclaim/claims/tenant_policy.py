"""Tenant policy: for each hospital (tenant), which E-Klaim its claims go to and in which protocol, the settings its
claims are mapped with, and the identity its claim Bundles are signed as (architecture §4–§6).

- E-Klaim: the hospital's own (`eklaim_url`, `eklaim_key` of its tenant settings), else the server's configured
  one (FHIRCLAIM_EKLAIM_URL / _KEY), else the sandbox's emulator of that hospital. A real E-Klaim speaks the
  hospital's `eklaim_protocol`, else the server's FHIRCLAIM_EKLAIM_PROTOCOL; the embedded sandbox always speaks the
  server's setting (it is built with it). One pooled HTTP transport per E-Klaim URL, kept for the process's life.
- Claim settings (`TenantClaimSettings`): the hospital's kode_tarif, payor and precheck_errors over the server's.
- Signing: each hospital signs as itself, with its own key (`signing.HospitalSigning`).
"""

from __future__ import annotations

import threading
from typing import Any

from fhirclaim.claims.claim_context import TenantClaimSettings
from fhirclaim.claims.gateway import EKlaimGateway
from fhirclaim.claims.hospital_settings import TenantSettingsStore
from fhirclaim.config import Settings
from fhirclaim.eklaim import EKlaimClient, HttpTransport, InProcessTransport
from fhirclaim.sandbox import SandboxEKlaim
from fhirclaim.signing import HospitalSigning


class TenantPolicy:
    def __init__(self, settings: Settings, tenants: TenantSettingsStore, sandbox: SandboxEKlaim,
                 signing: HospitalSigning):
        self.settings = settings
        self.tenants = tenants
        self.sandbox = sandbox
        self.signing = signing
        self._transports: dict[str, HttpTransport] = {}
        self._transport_lock = threading.Lock()

    def eklaim_gateway(self, tenant: str | None) -> EKlaimGateway:
        """The E-Klaim a tenant's claims go to, speaking its protocol (see the module docstring)."""
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

    def claim_settings(self, tenant: str | None) -> TenantClaimSettings:
        """The hospital's claim settings, each one it left unset the server's."""
        config = self.tenants.get(tenant)
        defaults = TenantClaimSettings(kode_tarif=self.settings.kode_tarif, timezone=self.settings.timezone)
        if config is None:
            return defaults
        return TenantClaimSettings(kode_tarif=config.kode_tarif or defaults.kode_tarif,
                                   payor_id=config.payor_id or defaults.payor_id,
                                   payor_cd=config.payor_cd or defaults.payor_cd, timezone=defaults.timezone,
                                   precheck_errors=config.precheck_errors)

    def sign(self, bundle: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
        """Signed by the hospital `who` names (`Organization/<tenant>`), with its own key (architecture §6)."""
        return self.signing.sign(bundle, who)

    def close(self) -> None:
        """The pooled HTTP transports closed (the sandbox and the keys belong to the runtime)."""
        for transport in self._transports.values():
            transport.close()
