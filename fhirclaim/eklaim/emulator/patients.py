"""new_claim, update_patient, delete_patient: patients (by nomor_rm) and the admissions opened under a SEP."""

from __future__ import annotations

from typing import Any

from fhirclaim.eklaim.emulator.answers import WsError, ok
from fhirclaim.eklaim.emulator.calls import Call, duplicate_list, require_coder
from fhirclaim.eklaim.emulator.fields import parse_patient
from fhirclaim.eklaim.emulator.models import Claim, Patient
from fhirclaim.eklaim.emulator.store import live_claims_by_sep, live_patient_by_rm, record_event


def new_claim(call: Call) -> dict[str, Any]:
    """Open an admission for a SEP; register the patient if their nomor_rm is new. A SEP in use is E2007."""
    nomor_sep, nomor_rm = call.text("nomor_sep"), call.text("nomor_rm")
    if not nomor_sep or not nomor_rm:
        raise WsError("E2030")
    existing = live_claims_by_sep(call.session, nomor_sep)
    if existing:
        raise WsError("E2007", {"duplicate": duplicate_list(existing)})
    values = parse_patient(call.data)
    patient = live_patient_by_rm(call.session, nomor_rm)
    if patient is None:  # an existing patient keeps their data: update_patient changes it
        patient = Patient(nomor_rm=nomor_rm, nomor_kartu=values.get("nomor_kartu", ""),
                          nama_pasien=values.get("nama_pasien", ""), tgl_lahir=values.get("tgl_lahir", ""),
                          gender=values.get("gender", ""), admission_count=0)
        call.session.add(patient)
    patient.admission_count += 1
    claim = Claim(patient=patient, admission_id=patient.admission_count, nomor_sep=nomor_sep,
                  nomor_kartu=values.get("nomor_kartu", patient.nomor_kartu),
                  kode_tarif=call.env.config.kode_tarif or "", created_at=call.now, updated_at=call.now)
    call.session.add(claim)
    call.session.flush()
    record_event(call.session, claim, "new_claim", call.now)
    return ok(response={"patient_id": patient.id, "admission_id": claim.admission_id,
                        "hospital_admission_id": claim.id})


def update_patient(call: Call) -> dict[str, Any]:
    """The patient named by metadata.nomor_rm (E2008 if unknown) takes the values given in data."""
    patient = live_patient_by_rm(call.session, call.text("nomor_rm", source=call.metadata))
    if patient is None:
        raise WsError("E2008")
    values = parse_patient(call.data)
    new_rm = values.get("nomor_rm")
    if new_rm and new_rm != patient.nomor_rm and live_patient_by_rm(call.session, new_rm) is not None:
        raise WsError("E2099")  # the new RM number belongs to another patient; the manual names no code for it
    for name, value in values.items():
        setattr(patient, name, value)
    return ok()


def delete_patient(call: Call) -> dict[str, Any]:
    """Delete a patient who has no claims left (E2011 otherwise: their claims would change)."""
    patient = live_patient_by_rm(call.session, call.text("nomor_rm"))
    if patient is None:
        raise WsError("E2008")
    require_coder(call)
    if any(claim.deleted_at is None for claim in patient.claims):
        raise WsError("E2011")
    patient.deleted_at = call.now
    return ok()
