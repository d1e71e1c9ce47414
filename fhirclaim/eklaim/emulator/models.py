"""The emulator's own store: personnel (coders), patients, claims (admissions), each claim's event history.

Claim fields keep E-Klaim's names and are stored as the normalised strings the web service accepted, which is
also what the grouper takes. A SEP number is deliberately *not* unique here: real E-Klaim databases hold
duplicates (entered through the desktop UI or a migration), which is why every method that names a SEP can answer
E2003 with the `duplicate` list. Deleting is soft (E-Klaim keeps deleted claims out of every lookup).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Personnel(Base):
    """A user of E-Klaim (Personnel Registration); only registered NIKs may code (E2006)."""

    __tablename__ = "personnel"

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)  # patient_id
    nomor_rm: Mapped[str] = mapped_column(String(64), index=True)
    nomor_kartu: Mapped[str] = mapped_column(String(64), default="")
    nama_pasien: Mapped[str] = mapped_column(String(200), default="")
    tgl_lahir: Mapped[str] = mapped_column(String(19), default="")  # YYYY-MM-DD HH:MM:SS
    gender: Mapped[str] = mapped_column(String(1), default="")  # 1 laki-laki, 2 perempuan
    admission_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    claims: Mapped[list[Claim]] = relationship(back_populates="patient")


class Claim(Base):
    """One admission with its claim data, grouping, final status and data-centre status."""

    __tablename__ = "claim"

    id: Mapped[int] = mapped_column(primary_key=True)  # hospital_admission_id
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    admission_id: Mapped[int] = mapped_column(Integer)  # the patient's n-th admission
    nomor_sep: Mapped[str] = mapped_column(String(64))

    # set_claim_data fields (E-Klaim names, normalised strings; "" = not filled)
    nomor_kartu: Mapped[str] = mapped_column(String(64), default="")
    tgl_masuk: Mapped[str] = mapped_column(String(19), default="")
    tgl_pulang: Mapped[str] = mapped_column(String(19), default="")
    jenis_rawat: Mapped[str] = mapped_column(String(1), default="")
    kelas_rawat: Mapped[str] = mapped_column(String(1), default="")
    adl_sub_acute: Mapped[str] = mapped_column(String(3), default="0")
    adl_chronic: Mapped[str] = mapped_column(String(3), default="0")
    icu_indikator: Mapped[str] = mapped_column(String(1), default="0")
    icu_los: Mapped[str] = mapped_column(String(8), default="0")
    ventilator_hour: Mapped[str] = mapped_column(String(8), default="0")
    upgrade_class_ind: Mapped[str] = mapped_column(String(1), default="0")
    upgrade_class_class: Mapped[str] = mapped_column(String(16), default="")
    upgrade_class_los: Mapped[str] = mapped_column(String(8), default="0")
    add_payment_pct: Mapped[str] = mapped_column(String(16), default="0")
    birth_weight: Mapped[str] = mapped_column(String(8), default="0")
    discharge_status: Mapped[str] = mapped_column(String(1), default="")
    diagnosa: Mapped[str] = mapped_column(Text, default="")
    procedure: Mapped[str] = mapped_column(Text, default="")
    tarif_rs: Mapped[str] = mapped_column(String(24), default="0")
    tarif_rs_detail: Mapped[str | None] = mapped_column(Text, default=None)  # JSON of a 5.10-style breakdown
    tarif_poli_eks: Mapped[str] = mapped_column(String(24), default="0")
    nama_dokter: Mapped[str] = mapped_column(String(200), default="")
    kode_tarif: Mapped[str] = mapped_column(String(8), default="")
    payor_id: Mapped[str] = mapped_column(String(8), default="3")
    payor_cd: Mapped[str] = mapped_column(String(32), default="JKN")
    coder_nik: Mapped[str] = mapped_column(String(32), default="")

    # grouping: the grouper's last answer (JSON), cleared whenever the claim data change
    grouping: Mapped[str | None] = mapped_column(Text, default=None)
    grouping_stage: Mapped[int] = mapped_column(Integer, default=0)
    special_cmg: Mapped[str] = mapped_column(String(200), default="")  # stage-2 option codes chosen, #-joined
    grouping_count: Mapped[int] = mapped_column(Integer, default=0)
    grouped_at: Mapped[datetime | None] = mapped_column(default=None)

    klaim_status_cd: Mapped[str] = mapped_column(String(8), default="normal")  # normal | final
    final_at: Mapped[datetime | None] = mapped_column(default=None)
    kemenkes_dc_status_cd: Mapped[str] = mapped_column(String(8), default="unsent")
    kemenkes_dc_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    bpjs_dc_status_cd: Mapped[str] = mapped_column(String(8), default="unsent")
    bpjs_dc_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # the simulated BPJS side (VClaim) answer for get_claim_status; None = BPJS answers nothing (E2020)
    bpjs_klaim_status_cd: Mapped[str | None] = mapped_column(String(8), default=None)
    bpjs_klaim_status_nm: Mapped[str | None] = mapped_column(String(64), default=None)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    patient: Mapped[Patient] = relationship(back_populates="claims")
    events: Mapped[list[ClaimEvent]] = relationship(back_populates="claim", order_by="ClaimEvent.id")
    coding: Mapped[Coding | None] = relationship(back_populates="claim")

    __table_args__ = (Index("ix_claim_sep_live", "nomor_sep", "deleted_at"),)


class ClaimEvent(Base):
    """Append-only history: every method that changed a claim, with the claim's status and data afterwards."""

    __tablename__ = "claim_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    method: Mapped[str] = mapped_column(String(32))
    klaim_status_cd: Mapped[str] = mapped_column(String(8))
    coder_nik: Mapped[str] = mapped_column(String(32), default="")
    snapshot: Mapped[str] = mapped_column(Text)  # JSON of the claim fields after the change
    at: Mapped[datetime]

    claim: Mapped[Claim] = relationship(back_populates="events")


class Coding(Base):
    """A claim's E-Klaim 5.10 state beside the 2017 columns (its own table, so older emulator databases gain it).

    The iDRG coding (ICD-10-IM / ICD-9-CM-IM, procedures with `+n` multiplicity) and its grouping; the INA-CBG
    coding as set or imported, IM codes included (they are shown with E2101; Claim.diagnosa / Claim.procedure
    hold only the codes the INA-CBG grouper takes); the two finals; the 5.10 claim fields the 2017 columns lack.
    """

    __tablename__ = "coding_510"

    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), primary_key=True)
    idrg_diagnosa: Mapped[str] = mapped_column(Text, default="")
    idrg_procedure: Mapped[str] = mapped_column(Text, default="")
    idrg_grouping: Mapped[str | None] = mapped_column(Text, default=None)  # JSON of response_idrg
    idrg_topups: Mapped[str] = mapped_column(String(200), default="")
    idrg_final: Mapped[bool] = mapped_column(Boolean, default=False)
    inacbg_diagnosa: Mapped[str] = mapped_column(Text, default="")
    inacbg_procedure: Mapped[str] = mapped_column(Text, default="")
    inacbg_final: Mapped[bool] = mapped_column(Boolean, default=False)
    sitb_register: Mapped[str] = mapped_column(String(64), default="")
    fields: Mapped[str] = mapped_column(Text, default="{}")  # JSON: cara_masuk, sistole, upgrade_class_payor, …

    claim: Mapped[Claim] = relationship(back_populates="coding")


class ClaimNumber(Base):
    """A nomor pengajuan klaim handed out by generate_claim_number (kode RS + ICC + yymm + a counter)."""

    __tablename__ = "claim_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime]
