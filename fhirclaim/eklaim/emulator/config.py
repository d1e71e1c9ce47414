"""The emulator's one settings object, and the two things it plugs in: the INA-CBG grouper and the ICD code check.

Both default to the project's own implementations (`fhirclaim.inacbg.grouper.Grouper`, `fhirclaim.terminology`),
loaded once when the app is built; tests may hand in their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WIB = timedelta(hours=7)
PROTOCOLS = ("5.10", "5.1")  # the E-Klaim builds the emulator speaks: today's (iDRG era) and the 2017 one


class GrouperLike(Protocol):
    """What the emulator needs of an INA-CBG grouper (fhirclaim.inacbg.grouper.Grouper)."""

    version: str

    def group(self, claim: Mapping[str, Any], special_cmg: Sequence[str] = ()) -> dict[str, Any]: ...


class CodeChecker(Protocol):
    """ICD validity as E-Klaim checks it: the normalised (dotted) code, or None if the code is not valid."""

    def diagnosis(self, code: str) -> str | None: ...

    def procedure(self, code: str) -> str | None: ...

    def diagnosis_description(self, code: str) -> str | None: ...

    def procedure_description(self, code: str) -> str | None: ...


def wib_now() -> datetime:
    """Now as a naive Western Indonesian Time timestamp, the way E-Klaim (a local PHP app) records time."""
    try:
        zone: Any = ZoneInfo("Asia/Jakarta")
    except ZoneInfoNotFoundError:  # no tz database on this machine: WIB has had no DST since 1964
        zone = timezone(WIB)
    return datetime.now(zone).replace(tzinfo=None, microsecond=0)


@dataclass
class EmulatorConfig:
    """Settings of one emulated E-Klaim installation.

    `key_hex` is the encryption key of Setup → Integrasi SIMRS. `kode_rs`/`kelas_rs` are the hospital's code and
    class (the manual's example hospital by default); an empty `kode_rs` is "not set up" (E2015). `kode_tarif`,
    when set, is the tariff class the hospital is set up with: any other kode_tarif is E2014, and new claims start
    with it. `hospital_registered=False` makes the data centre refuse sends (E2027); `bpjs_dc_enabled` also marks
    sent claims as sent to the BPJS data centre. `protocol` is the E-Klaim build spoken: "5.10" (iDRG and INA-CBG
    coding, docs in protocol.py) or "5.1" (the 2017 build, one coding, one grouper).
    """

    key_hex: str
    database_url: str = "sqlite://"
    allow_debug: bool = True
    coders: Sequence[tuple[str, str]] = ()
    kode_rs: str = "3174282"
    kelas_rs: str = "A"
    kode_tarif: str | None = None
    tariff_table: Path | None = None
    hospital_registered: bool = True
    bpjs_dc_enabled: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    grouper: GrouperLike | None = None
    codes: CodeChecker | None = None
    clock: Callable[[], datetime] = field(default=wib_now)
    protocol: str = "5.10"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return (f"EmulatorConfig(protocol={self.protocol!r}, database_url={self.database_url!r}, "
                f"kode_rs={self.kode_rs!r}, ...)")


class TerminologyCodes:
    """The project's ICD-10 / ICD-9-CM tables (fhirclaim.terminology) as the emulator's code check."""

    def __init__(self) -> None:
        from fhirclaim.terminology import icd9cm, icd10

        self._icd10 = icd10
        self._icd9cm = icd9cm

    def diagnosis(self, code: str) -> str | None:
        return self._icd10.normalize(code) if self._icd10.is_valid(code) else None

    def procedure(self, code: str) -> str | None:
        return self._icd9cm.normalize(code) if self._icd9cm.is_valid(code) else None

    def diagnosis_description(self, code: str) -> str | None:
        return self._icd10.description(code)

    def procedure_description(self, code: str) -> str | None:
        return self._icd9cm.description(code)


def default_grouper(tariff_table: Path | None) -> GrouperLike:
    from fhirclaim.inacbg.grouper import Grouper

    return Grouper(tariff_table)
