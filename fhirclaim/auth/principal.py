"""The caller of a request, and the roles of architecture §8."""

from __future__ import annotations

from dataclasses import dataclass

FACILITY, EKLAIM, BPJS, ADMIN = "facility", "eklaim", "bpjs", "admin"
ROLES = (FACILITY, EKLAIM, BPJS, ADMIN)
HOSPITAL_ROLES = (FACILITY, EKLAIM)  # act for one organization (the tenant)


@dataclass(frozen=True)
class Principal:
    client_id: str
    role: str
    org: str | None = None

    @property
    def name(self) -> str:
        """Who wrote a version, in history and audit: role and client id, never a secret."""
        return f"{self.role}:{self.client_id}"

    @property
    def tenant(self) -> str | None:
        return self.org if self.role in HOSPITAL_ROLES else None
