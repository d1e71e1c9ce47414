"""The SATUSEHAT example shapes of tests/fixtures/satusehat/examples-derived with realistic values.

The fixture files hold placeholders (`{{No_SEP}}`); tests need resources a hospital would really send. Every
placeholder used is named in VALUES, so a new placeholder in the fixtures fails loudly instead of leaking
`{{…}}` into a fixture. Keys starting with `_` (the files' provenance notes) are dropped.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXAMPLES = FIXTURES / "satusehat" / "examples-derived"

ORG_RS = "10000004"  # the hospital's SATUSEHAT organization id
ORG_BPJS = "100025555"  # BPJS Kesehatan's organization id
SEP = "0301R0011024V000123"
CARD = "0001234567890"
NIK_CODER = "3171012345670001"

VALUES = {
    "{{Org_id}}": ORG_RS, "{{organization_id}}": ORG_RS, "{{provider_id}}": ORG_RS,
    "{{Org_BPJS}}": ORG_BPJS, "{{insurer_id (BPJS)}}": ORG_BPJS, "{{insurer_id}}": ORG_BPJS,
    "{{No_SEP}}": SEP, "{{sep_number}}": SEP, "{{claim_number}}": SEP,
    "{{No_Batch_Eklaim}}": "B202405000017", "{{No_Batch}}": "B202405000017",
    "{{Patient_id}}": "pat-1", "{{patient_id}}": "pat-1",
    "{{Encounter_id}}": "enc-1", "{{Coverage_id}}": "cov-1", "{{coverage_id}}": "cov-1",
    "{{Account_id}}": "acc-1", "{{Location_id}}": "loc-bangsal-3",
    "{{Practitioner_id koder}}": "prac-coder", "{{Practitioner_id}}": "prac-dpjp",
    "{{Practitioner_Name}}": "dr. Rudy Hartono, Sp.OT",
    "{{NIK koder}}": NIK_CODER,
    "{{Claim_id}}": "claim-1", "{{ClaimResponse_purifikasi_id}}": "cr-purif-1",
    "{{ChargeItem_id_1}}": "ci-1", "{{uuid}}": "3f2b8c1e-5a4d-4c0e-9b7a-1d2e3f4a5b6c",
    "{{dateTime}}": "2024-05-06T10:15:00+07:00", "{{+07:00 dateTime}}": "2024-05-01T08:30:00+07:00",
    "{{tanggal nota terbit}}": "2024-05-06T11:00:00+07:00",
    "{{waktu_registrasi}}": "2024-05-01T08:30:00+07:00", "{{waktu_item_terakhir}}": "2024-05-06T10:15:00+07:00",
    "{{dateTime e.g. 2026-07-27T10:00:00+07:00}}": "2024-06-10T10:00:00+07:00", "{{YYYY-MM-DD}}": "2024-06-20",
    "{{ICD10}}": "S72.0", "{{ICD9CM}}": "81.51", "{{desc}}": "Fracture of neck of femur",
    "{{INACBG code}}": "M-1-04-II", "{{INACBG description}}": "PROSEDUR PADA SENDI TUNGKAI BAWAH (SEDANG)",
    "{{e-klaim grouper inacbg_version}}": "5.1.0.201703121710",
    "{{no_kartu_bpjs}}": CARD, "{{segmen_peserta_code}}": "PBI", "{{segmen_peserta_name}}": "PBI APBN",
    "{{kelas_rawat 1|2|3}}": "2", "{{kelas_rawat}}": "2",
    "{{no_rawat}}": "2024/05/01/000123", "{{nama_RS}}": "RSUD Sehat Sentosa",
    "{{Patient_Name}}": "SITI AMINAH", "{{Patient_Name (must equal registered name, Rule 10226)}}": "SITI AMINAH",
    "{{nama potongan}}": "Potongan karyawan",
    "{{KPTL code e.g. 15229.PS001}}": "15229.PS001",
    "{{KPTL display e.g. Pendaftaran Pasien, Baru}}": "Pendaftaran Pasien, Baru",
    "{{nama tindakan lokal}}": "Pendaftaran pasien baru", "{{local item key}}": "TND-000123",
    "{{KFA code e.g. 93xxxxxxx}}": "93001019", "{{KFA display}}": "Paracetamol 500 mg Tablet",
    "{{nama obat lokal}}": "Paracetamol 500 mg", "{{local key}}": "OBT-000456",
    "{{local decision number / no_rawat}}": "PD-2024-000123", "{{free text}}": "Lolos purifikasi",
}

_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def fill(value: Any) -> Any:
    """`value` with every placeholder replaced; KeyError names a placeholder VALUES lacks."""
    if isinstance(value, dict):
        return {k: fill(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [fill(v) for v in value]
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: VALUES[m.group(0)], value)
    return value


def example(name: str) -> dict[str, Any]:
    """`examples-derived/<name>.json` filled, as a fresh copy."""
    return copy.deepcopy(fill(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))))


def r4_example(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "fhir" / "r4-examples" / f"{name}.json").read_text(encoding="utf-8"))


def r4_examples() -> list[Path]:
    return sorted((FIXTURES / "fhir" / "r4-examples").glob("*.json"))
