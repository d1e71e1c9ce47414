"""What a method handler receives, and the checks most methods start with (SEP lookup, coder NIK)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fhirclaim.eklaim.emulator.answers import WsError
from fhirclaim.eklaim.emulator.config import CodeChecker, EmulatorConfig, GrouperLike
from fhirclaim.eklaim.emulator.models import Claim, Personnel
from fhirclaim.eklaim.emulator.store import coder_by_nik, live_claims_by_sep
from fhirclaim.inacbg.idrg import IdrgGrouper


@dataclass(frozen=True)
class Environment:
    """Everything loaded once per app: settings, grouper, code check, and in 5.10 mode the iDRG grouper."""

    config: EmulatorConfig
    grouper: GrouperLike
    codes: CodeChecker
    idrg: IdrgGrouper | None = None


@dataclass(frozen=True)
class Call:
    """One decoded ws.php request inside its database transaction."""

    env: Environment
    session: Session
    metadata: Mapping[str, Any]
    data: Mapping[str, Any]
    now: datetime

    def text(self, name: str, *, source: Mapping[str, Any] | None = None) -> str:
        """A parameter as stripped text ("" when absent or not a scalar)."""
        value = (self.data if source is None else source).get(name)
        if value is None or isinstance(value, (dict, list, bool)):
            return ""
        return str(value).strip()


def one_claim(call: Call, nomor_sep: str) -> Claim:
    """The live claim of a SEP: E2004 if there is none, E2003 (with the `duplicate` list) if there are several."""
    claims = live_claims_by_sep(call.session, nomor_sep) if nomor_sep else []
    if not claims:
        raise WsError("E2004")
    if len(claims) > 1:
        raise WsError("E2003", {"duplicate": duplicate_list(claims)})
    return claims[0]


def duplicate_list(claims: list[Claim]) -> list[dict[str, str]]:
    return [{"nama_pasien": claim.patient.nama_pasien, "nomor_rm": claim.patient.nomor_rm,
             "tgl_masuk": claim.tgl_masuk} for claim in claims]


def require_coder(call: Call) -> Personnel:
    """`coder_nik` is mandatory (E2005) and must be a registered user's NIK (E2006)."""
    nik = call.text("coder_nik")
    if not nik:
        raise WsError("E2005")
    coder = coder_by_nik(call.session, nik)
    if coder is None:
        raise WsError("E2006")
    return coder


def require_hospital_setup(call: Call) -> None:
    """Grouping, finalising and sending need the hospital's code (Setup → Kode RS): E2015 otherwise."""
    if not call.env.config.kode_rs:
        raise WsError("E2015")
