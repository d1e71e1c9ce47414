"""The server side of issue 12: a claim the pipeline signs as its hospital, checked by BPJS-K with
`POST /fhir/Bundle/$verify-signature` (one issue per finding), the published trust anchors and CRL, and the admin
routes of a hospital's signing certificate."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from fhirclaim.signing import SignerIdentity, SigningKeyStore, TrustPolicy, verify_bundle
from fhirclaim.signing.jws import sign_bundle

from testkit import HOSPITAL, authorized

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASE = "02-hip-replacement-special-cmg"


@pytest.fixture
def settings(settings):
    """The E-Klaim 5.1 flow, whose example cases end signed today (as tests/pipeline runs them)."""
    return settings.model_copy(update={"eklaim_protocol": "5.1"})


@pytest.fixture
def published(app, runtime) -> dict:
    """Case 02 posted by its hospital with the record of its encounter, run through the pipeline, read by BPJS-K."""
    hospital = authorized(app)
    transaction = json.loads((EXAMPLES / CASE / "transaction.json").read_text(encoding="utf-8"))
    claim = next(e["resource"] for e in transaction["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["provider"] = {"reference": "Organization/10000099", "display": "someone else"}  # must not matter
    transaction["entry"].insert(0, {"request": {"method": "PUT", "url": "Organization/10000099"}, "resource": {
        "resourceType": "Organization", "id": "10000099", "name": "RS Lain"}})
    assert hospital.post("", transaction).status_code == 200
    encounter = {"reference": "Encounter/ex2-encounter"}
    for index, line in enumerate(claim["diagnosis"]):
        condition = {"resourceType": "Condition", "id": f"ex2-cond-{index}", "subject": claim["patient"],
                     "encounter": encounter, "code": line["diagnosisCodeableConcept"]}
        assert hospital.put(f"/Condition/{condition['id']}", condition).status_code == 201
    procedure = {"resourceType": "Procedure", "id": "ex2-proc", "status": "completed", "subject": claim["patient"],
                 "encounter": encounter, "code": claim["procedure"][0]["procedureCodeableConcept"]}
    assert hospital.put("/Procedure/ex2-proc", procedure).status_code == 201
    while runtime.pipeline.run_next("test-worker") is not None:
        pass
    bpjs = authorized(app, "bpjs")
    found = bpjs.get(f"/Bundle?claim=Claim/{claim['id']}").get_json()
    assert found.get("entry"), found
    return found["entry"][0]["resource"]


def _texts(outcome: dict) -> list[str]:
    return [issue["details"]["text"] for issue in outcome["issue"]]


def test_the_pipeline_signs_as_the_tenant_and_bpjs_k_finds_the_record(app, runtime, published):
    bpjs = authorized(app, "bpjs")

    answer = bpjs.post("/Bundle/$verify-signature", published).get_json()

    assert published["signature"]["who"]["reference"] == f"Organization/{HOSPITAL}"  # not the Claim's provider
    assert [issue["severity"] for issue in answer["issue"]] == ["information"] * 4, answer
    assert _texts(answer)[0].startswith(f"signature valid: RS256 signature by 2.5.4.97={HOSPITAL},CN=Organization")
    assert [text.split(":")[0] for text in _texts(answer)[1:]] == ["integrity", "trust", "identity"]
    kinds = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in published["entry"]}
    assert {("Condition", "ex2-cond-0"), ("Condition", "ex2-cond-1"), ("Condition", "ex2-cond-2"),
            ("Procedure", "ex2-proc")} <= kinds
    assert "OperationOutcome" not in {kind for kind, _ in kinds}
    claim = published["entry"][0]["resource"]
    assert not [e for e in claim.get("extension", []) if e["url"].endswith("/claim-processing")]
    for resource_type, resource_id in kinds:  # BPJS-K can read every resource the Bundle carries
        if resource_type in ("Condition", "Procedure", "Invoice", "ChargeItem", "Encounter", "Account"):
            assert bpjs.get(f"/{resource_type}/{resource_id}").status_code == 200, (resource_type, resource_id)


def test_forged_who_swapped_and_revoked_bundles_are_refused_and_say_why(app, runtime, published, tmp_path):
    bpjs = authorized(app, "bpjs")
    forged = copy.deepcopy(published)
    forged["entry"][0]["resource"]["total"]["value"] = 99_999_999
    attacker = SigningKeyStore(tmp_path / "attacker", alg="ES256", subject="fhirclaim Bundle signer")
    forged = sign_bundle(forged, attacker.load_or_create(), who=published["signature"]["who"])
    swapped = copy.deepcopy(published)
    swapped["signature"]["who"] = {"reference": "Organization/10000005"}
    one_byte = copy.deepcopy(published)
    one_byte["entry"][1]["resource"]["id"] += "x"
    authority = runtime.signing.authority
    expired_key = SigningKeyStore(tmp_path / "expired", alg="ES256", certify=lambda public_key: [
        authority.issue(public_key, SignerIdentity(HOSPITAL), now=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                        validity=dt.timedelta(days=30)), authority.certificate])
    expired = sign_bundle(published, expired_key.load_or_create(), who=published["signature"]["who"])
    key = runtime.signing.current(HOSPITAL)
    signed_at = dt.datetime.fromisoformat(published["signature"]["when"].replace("Z", "+00:00"))
    runtime.signing.revoke(HOSPITAL, when=signed_at + dt.timedelta(seconds=1))
    revoked = sign_bundle(published, key, who=published["signature"]["who"], when=signed_at + dt.timedelta(seconds=2))

    answers = {name: bpjs.post("/Bundle/$verify-signature", bundle).get_json()
               for name, bundle in (("genuine", published), ("forged", forged), ("who-swapped", swapped),
                                    ("revoked", revoked), ("expired", expired), ("one byte changed", one_byte))}
    for name, answer in answers.items():  # the figures of the report
        print(f"\n{name}:", *(f"\n  [{i['severity']}] {i['details']['text']}" for i in answer["issue"]))

    assert answers["genuine"]["issue"][0]["severity"] == "information"  # signed before the revocation
    assert _texts(answers["forged"])[0].startswith("signature invalid: certificate CN=fhirclaim Bundle signer does "
                                                   "not chain to a trust anchor")
    assert [i["severity"] for i in answers["forged"]["issue"][1:]] == ["information", "error", "error"]
    assert _texts(answers["who-swapped"])[0] == (
        "signature invalid: Signature.who names http://sys-ids.kemkes.go.id/organization/10000005 but the "
        f"certificate is issued to http://sys-ids.kemkes.go.id/organization/{HOSPITAL}")
    assert "(keyCompromise), no later than the signing time" in _texts(answers["revoked"])[0]
    assert answers["revoked"]["issue"][2]["expression"] == ["Bundle.signature.data"]
    assert "was not valid at the signing time" in _texts(answers["expired"])[0]
    assert _texts(answers["one byte changed"])[:2] == ["signature invalid: signature does not match content",
                                                       "integrity: signature does not match content"]


def test_trusted_false_asks_for_the_integrity_verdict_alone(app, published, tmp_path):
    bpjs = authorized(app, "bpjs")
    attacker = SigningKeyStore(tmp_path / "attacker", alg="ES256").load_or_create()
    forged = sign_bundle(published, attacker, who=published["signature"]["who"])

    answer = bpjs.post("/Bundle/$verify-signature?trusted=false", forged).get_json()

    assert [issue["severity"] for issue in answer["issue"]] == ["warning", "information", "warning"]
    assert _texts(answer)[0].endswith("the signer is unproven (integrity-only mode)")


def test_the_trust_anchors_and_crl_are_published_without_a_token(app, runtime, published):
    client = app.test_client()

    anchors = client.get("/fhir/.well-known/trust-anchors.pem")
    crl = client.get("/fhir/.well-known/signing-crl.pem")

    assert (anchors.status_code, anchors.content_type) == (200, "application/x-pem-file")
    assert anchors.data.startswith(b"-----BEGIN CERTIFICATE-----")
    assert crl.data.startswith(b"-----BEGIN X509 CRL-----")
    offline = TrustPolicy.from_pem([anchors.data], [crl.data])
    assert verify_bundle(published, trust=offline).valid


def test_admin_reads_revokes_and_replaces_a_hospitals_signing_certificate(app, runtime, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from fhirclaim.signing import SignerIdentity
    from fhirclaim.signing.authority import CertificateAuthority

    admin = authorized(app, "admin", None)

    def call(method: str, path: str, body=None):
        return admin.request(method, path, body, base="/admin", content_type="application/json")

    first = call("GET", f"/tenants/{HOSPITAL}/signing-certificate").get_json()
    no_reason = call("POST", f"/tenants/{HOSPITAL}/signing-certificate/revoke", {})
    revoked = call("POST", f"/tenants/{HOSPITAL}/signing-certificate/revoke", {"reason": "superseded"})
    current = call("GET", f"/tenants/{HOSPITAL}/signing-certificate").get_json()
    outside = CertificateAuthority(tmp_path / "outside")
    outside.load_or_create()
    leaf = outside.issue(x509.load_pem_x509_csr(current["csr"].encode()).public_key(), SignerIdentity(HOSPITAL))
    chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, outside.certificate))
    anchor = outside.certificate.public_bytes(serialization.Encoding.PEM).decode()
    untrusted = call("PUT", f"/tenants/{HOSPITAL}/signing-certificate", {"certificate": chain})
    added = call("POST", "/trust-anchors", {"certificate": anchor})
    installed = call("PUT", f"/tenants/{HOSPITAL}/signing-certificate", {"certificate": chain})
    junk = call("PUT", f"/tenants/{HOSPITAL}/signing-certificate", {"certificate": "junk"})
    not_ours = call("POST", f"/tenants/{HOSPITAL}/signing-certificate/revoke", {"reason": "superseded"})
    keyless = call("GET", "/tenants/10000077/signing-certificate")
    facility = authorized(app).get(f"/tenants/{HOSPITAL}/signing-certificate", base="/admin")

    assert first["subject"] == f"2.5.4.97={HOSPITAL},CN=Organization {HOSPITAL}"
    assert no_reason.status_code == 400
    assert revoked.status_code == 200 and revoked.get_json()["serial"] == first["serial"]
    assert current["kid"] == revoked.get_json()["new_kid"] != first["kid"]
    assert untrusted.status_code == 400 and "add its CA as a trust anchor first" in json.dumps(untrusted.get_json())
    assert added.status_code == 201
    assert installed.status_code == 200
    assert installed.get_json()["issuer"] == outside.certificate.subject.rfc4514_string()
    assert junk.status_code == 400
    assert not_ours.status_code == 400 and "revoke it at its issuer" in json.dumps(not_ours.get_json())
    assert keyless.status_code == 404 and "has no signing key yet" in json.dumps(keyless.get_json())
    assert facility.status_code == 403
    assert anchor.encode() in app.test_client().get("/fhir/.well-known/trust-anchors.pem").data
