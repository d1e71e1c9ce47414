"""Per-tenant settings: an admin sets a hospital's own E-Klaim (URL + key, the key encrypted at rest and never
shown again) and kode_tarif; that hospital's claims then go to its E-Klaim, other hospitals' to the sandbox."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from fhirclaim.claims.pipeline_worker import PipelineWorker
from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator import EmulatorConfig, create_emulator_app
from fhirclaim.store.access import TenantSettingsRow

from testkit import HOSPITAL, REPO_ROOT, authorized

CODER_NIK = "3171012345670001"  # the examples' coder


@pytest.fixture
def hospital_eklaim(tmp_path):
    """The hospital's own E-Klaim, over real HTTP, with its coder registered (E-Klaim's Personnel menu)."""
    key = crypto.generate_key()
    app = create_emulator_app(EmulatorConfig(key_hex=key, database_url=f"sqlite:///{tmp_path / 'rs.db'}"))
    app.register_coder(CODER_NIK, "Ani Rahmawati")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/E-Klaim/ws.php", key, app
    server.shutdown()
    app.close()


def test_admin_sets_and_reads_tenant_settings_without_the_key(app, runtime, hospital_eklaim):
    url, key, _ = hospital_eklaim
    admin = authorized(app, "admin")
    put = admin.request("PUT", f"/admin/tenants/{HOSPITAL}", {"eklaim_url": url, "eklaim_key": key,
                                                              "kode_tarif": "AP"},
                        content_type="application/json", base="")
    assert put.status_code == 200
    assert put.get_json() == {"tenant": HOSPITAL, "eklaim_url": url, "eklaim_key_set": True, "kode_tarif": "AP",
                              "hospital_code": None, "payor_id": None, "payor_cd": None, "eklaim_protocol": None,
                              "precheck_errors": []}
    shown = admin.request("GET", f"/admin/tenants/{HOSPITAL}", base="").get_data(as_text=True)
    assert key not in shown
    with runtime.store.unit_of_work(write=False) as uow:
        stored = uow.session.execute(select(TenantSettingsRow)).scalar_one()
    assert key not in stored.eklaim_key_encrypted and runtime.secrets.decrypt(stored.eklaim_key_encrypted) == key


@pytest.mark.parametrize(("field", "value"), [("eklaim_key", "short"), ("eklaim_url", "ftp://x"),
                                              ("kode_tarif", "ZZ"), ("eklaim_protocol", "5.9"), ("colour", "red")])
def test_bad_tenant_settings_are_refused(app, field, value):
    response = authorized(app, "admin").request("PUT", f"/admin/tenants/{HOSPITAL}", {field: value},
                                                content_type="application/json", base="")
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"


def test_the_pipeline_uses_the_tenants_eklaim_and_kode_tarif(app, runtime, hospital_eklaim):
    url, key, eklaim = hospital_eklaim
    runtime.tenants.put(HOSPITAL, {"eklaim_url": url, "eklaim_key": key, "kode_tarif": "AP"})
    facility = authorized(app)
    example = REPO_ROOT / "examples" / "01-outpatient-visit" / "transaction.json"
    assert facility.post("", raw=example.read_bytes()).status_code == 200
    assert PipelineWorker(runtime.pipeline).run_until_idle() == 1

    claim = facility.get("/Claim/ex1-claim").get_json()
    package = next(e for e in claim["extension"] if e["url"].endswith("/Package"))
    tariff_class = package["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    assert tariff_class == "AP"
    from fhirclaim.eklaim import EKlaimClient, InProcessTransport

    record = EKlaimClient(InProcessTransport(eklaim), key).get_claim_data("0301R0011026V000101")
    assert record.is_final and record.data["kode_tarif"] == "AP"
    sandbox = EKlaimClient(InProcessTransport(runtime.sandbox.app), runtime.sandbox.key)
    from fhirclaim.eklaim import EKlaimError

    with pytest.raises(EKlaimError) as missing:  # the sandbox E-Klaim never saw this hospital's claim
        sandbox.get_claim_data("0301R0011026V000101")
    assert missing.value.error_no == "E2004"
