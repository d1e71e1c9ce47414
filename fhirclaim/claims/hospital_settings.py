"""Per-hospital settings (architecture §8): its E-Klaim endpoint and key (the key encrypted at rest), kode_tarif,
hospital code and payor, and the precheck warnings that stop its claims (`precheck_errors`, rule ids). A tenant with
none of its own uses the server's defaults (and the sandbox E-Klaim)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fhirclaim.claims.precheck import rule_ids
from fhirclaim.clock import naive_utc_now
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.secrets import SecretBox
from fhirclaim.store.unit_of_work import Store

KODE_TARIF = ("AP", "AS", "BP", "BS", "CP", "CS", "DP", "DS", "RSCM", "RSJP", "RSD", "RSAB")
EKLAIM_PROTOCOLS = ("5.10", "5.1")
EDITABLE = ("eklaim_url", "eklaim_key", "eklaim_protocol", "kode_tarif", "hospital_code", "payor_id", "payor_cd",
            "precheck_errors")


@dataclass(frozen=True)
class TenantConfig:
    tenant: str
    eklaim_url: str | None = None
    eklaim_key: str | None = None  # decrypted; never rendered
    kode_tarif: str | None = None
    hospital_code: str | None = None
    payor_id: str | None = None
    payor_cd: str | None = None
    eklaim_protocol: str | None = None  # 5.10 | 5.1 of the hospital's own E-Klaim; None = the server's setting
    precheck_errors: tuple[str, ...] = ()  # precheck warnings that stop this hospital's claims (rule ids)

    def __repr__(self) -> str:
        return f"TenantConfig(tenant={self.tenant!r}, eklaim_url={self.eklaim_url!r}, kode_tarif={self.kode_tarif!r})"

    def public(self) -> dict[str, Any]:
        """What an admin reads back: whether a key is set, never the key."""
        return {"tenant": self.tenant, "eklaim_url": self.eklaim_url, "eklaim_key_set": bool(self.eklaim_key),
                "kode_tarif": self.kode_tarif, "hospital_code": self.hospital_code, "payor_id": self.payor_id,
                "payor_cd": self.payor_cd, "eklaim_protocol": self.eklaim_protocol,
                "precheck_errors": list(self.precheck_errors)}


class TenantSettingsStore:
    def __init__(self, store: Store, secrets: SecretBox):
        self.store = store
        self.secrets = secrets

    def get(self, tenant: str | None) -> TenantConfig | None:
        if not tenant:
            return None
        with self.store.reading() as uow:  # each claim job asks twice: a read, no commit (issue 17)
            row = uow.tenant_settings.get(tenant)
            if row is None:
                return None
            key = self.secrets.decrypt(row.eklaim_key_encrypted) if row.eklaim_key_encrypted else None
            return TenantConfig(tenant, row.eklaim_url, key, row.kode_tarif, row.hospital_code, row.payor_id,
                                row.payor_cd, row.eklaim_protocol, tuple(json.loads(row.precheck_errors or "[]")))

    def put(self, tenant: str, values: dict[str, Any]) -> TenantConfig:
        """Set the given fields (absent = unchanged, null = cleared), validated."""
        unknown = set(values) - set(EDITABLE)
        if unknown:
            raise FhirError.of(400, "structure", f"Unknown tenant setting(s): {', '.join(sorted(unknown))}")
        _validate(values)
        with self.store.unit_of_work() as uow:
            uow.tenant_settings.put(tenant, self._columns(values), naive_utc_now())
        return self.get(tenant)

    def _columns(self, values: dict[str, Any]) -> dict[str, Any]:
        """The stored form of the given settings: the E-Klaim key encrypted, the precheck rule ids as JSON."""
        columns: dict[str, Any] = {}
        for name, value in values.items():
            if name == "eklaim_key":
                columns["eklaim_key_encrypted"] = self.secrets.encrypt(value) if value else None
            elif name == "precheck_errors":
                columns["precheck_errors"] = json.dumps(sorted(set(value))) if value else None
            else:
                columns[name] = value
        return columns


def _validate(values: dict[str, Any]) -> None:
    key = values.get("eklaim_key")
    if key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", str(key)):
        raise FhirError.of(400, "value", "eklaim_key must be the 64 hex characters E-Klaim shows", "eklaim_key")
    url = values.get("eklaim_url")
    if url is not None and not re.match(r"^https?://", str(url)):
        raise FhirError.of(400, "value", "eklaim_url must be the http(s) URL of E-Klaim's ws.php", "eklaim_url")
    protocol = values.get("eklaim_protocol")
    if protocol is not None and protocol not in EKLAIM_PROTOCOLS:
        raise FhirError.of(400, "value", f"eklaim_protocol must be one of {', '.join(EKLAIM_PROTOCOLS)} (the version "
                                         f"the hospital's E-Klaim speaks)", "eklaim_protocol")
    kode = values.get("kode_tarif")
    if kode is not None and kode not in KODE_TARIF:
        raise FhirError.of(400, "value", f"kode_tarif must be one of {', '.join(KODE_TARIF)}", "kode_tarif")
    _validate_precheck_errors(values.get("precheck_errors"))


def _validate_precheck_errors(rules: list[str] | None) -> None:
    """Known precheck rule ids only (422 naming the unknown ones): a misspelt id would silently stop nothing."""

    unknown = sorted(set(rules or ()) - set(rule_ids()))
    if unknown:
        raise FhirError.of(422, "code-invalid", f"precheck_errors names unknown precheck rule id(s) "
                                                f"{', '.join(unknown)} (see CodeSystem precheck-rule)",
                           "precheck_errors")
