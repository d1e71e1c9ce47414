"""Per-hospital settings as stored, one row per tenant (claims/hospital_settings.py validates them and encrypts
the E-Klaim key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fhirclaim.store.access import TenantSettingsRow


class TenantSettingsRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, tenant: str) -> TenantSettingsRow | None:
        return self.session.get(TenantSettingsRow, tenant)

    def put(self, tenant: str, columns: dict[str, Any], now: datetime) -> None:
        """Set these columns of the tenant's row (created when it has none); the others stay as they are."""
        row = self.session.get(TenantSettingsRow, tenant) or TenantSettingsRow(tenant=tenant)
        for name, value in columns.items():
            setattr(row, name, value)
        row.updated_at = now
        self.session.merge(row)
