"""Fixtures for the signing tests: key stores made at run time (never committed), the HL7 vector, a claim Bundle."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhirclaim.signing.keys import SigningKeyStore

VECTOR = Path("fhir") / "signature-vectors" / "bundle-signed-good.json"
CLAIM_CASE = ("Claim-100150.json", "ClaimResponse-R3500.json", "Coverage-7546D.json", "Account-example.json",
              "ChargeItem-example.json", "Invoice-example.json")
SIGNER = {"reference": "Organization/rs-sehat", "display": "RS Sehat Selalu"}


@pytest.fixture(scope="session")
def vector_text(fixtures_dir: Path) -> str:
    return (fixtures_dir / VECTOR).read_text(encoding="utf-8")


@pytest.fixture
def vector(vector_text: str) -> dict:
    """A fresh copy of the third-party signed Bundle (tests may change it)."""
    return json.loads(vector_text)


@pytest.fixture(scope="session")
def _claim_bundle(fixtures_dir: Path) -> dict:
    examples = fixtures_dir / "fhir" / "r4-examples"
    entries = []
    for name in CLAIM_CASE:
        resource = json.loads((examples / name).read_text(encoding="utf-8"))
        entries.append({"fullUrl": f"urn:uuid:{resource['resourceType'].lower()}-{resource['id']}",
                        "resource": resource})
    return {"resourceType": "Bundle", "id": "claim-100150-v1", "meta": {"versionId": "1"},
            "identifier": {"system": "https://fhir.bpjs-kesehatan.go.id/sep", "value": "0301R0011117V000008"},
            "type": "collection", "timestamp": "2026-11-20T10:00:00+07:00", "entry": entries}


@pytest.fixture
def claim_bundle(_claim_bundle: dict) -> dict:
    """An unsigned collection Bundle of the official R4 Claim/ClaimResponse/Coverage/… examples."""
    return copy.deepcopy(_claim_bundle)


@pytest.fixture(scope="session")
def rsa_store(tmp_path_factory) -> SigningKeyStore:
    store = SigningKeyStore(tmp_path_factory.mktemp("rsa-keys"), alg="RS256")
    store.load_or_create()
    return store


@pytest.fixture(scope="session")
def ec_store(tmp_path_factory) -> SigningKeyStore:
    store = SigningKeyStore(tmp_path_factory.mktemp("ec-keys"), alg="ES256")
    store.load_or_create()
    return store


@pytest.fixture(params=["RS256", "ES256"])
def store(request, rsa_store, ec_store) -> SigningKeyStore:
    """Each test using it runs once per alg."""
    return rsa_store if request.param == "RS256" else ec_store
