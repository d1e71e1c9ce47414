"""Search correctness per parameter type, modifiers, prefixes, paging, sorting and includes (architecture §3)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

NIK = "https://fhir.kemkes.go.id/id/nik"
SEP = "http://sys-ids.kemkes.go.id/claim-number/bpjs"
IDR = "urn:iso:std:iso:4217"


def _ids(bundle: dict, mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode}


def _claim(patient: str, provider: str, sep: str, created: str, status: str = "active") -> dict:
    return {
        "resourceType": "Claim", "status": status, "use": "claim",
        "identifier": [{"system": SEP, "value": sep}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": f"Patient/{patient}"}, "created": created,
        "provider": {"reference": f"Organization/{provider}"},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"},
                       "identifier": {"system": SEP, "value": sep}}],
        "insurer": {"reference": "Organization/bpjs"},
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A09"}]}}],
    }


@pytest.fixture
def data(fhir):
    fhir.put_resource({"resourceType": "Organization", "id": "rs1", "name": "RSUD Sehat Sentosa"})
    fhir.put_resource({"resourceType": "Organization", "id": "rs2", "name": "RS Harapan"})
    fhir.put_resource({"resourceType": "Organization", "id": "bpjs", "name": "BPJS Kesehatan"})
    fhir.put_resource({"resourceType": "Patient", "id": "siti", "gender": "female", "birthDate": "1980-02-03",
                       "identifier": [{"system": NIK, "value": "3171000000000001"}],
                       "name": [{"family": "Süryani", "given": ["Siti"]}]})
    fhir.put_resource({"resourceType": "Patient", "id": "budi", "gender": "male", "birthDate": "1975-06-30",
                       "identifier": [{"system": NIK, "value": "3171000000000002"}, {"value": "RM-77"}],
                       "name": [{"family": "Santoso", "given": ["Budi"]}]})
    fhir.put_resource({"resourceType": "Patient", "id": "odd", "name": [{"family": "100%_real"}]})
    fhir.put_resource({"resourceType": "Coverage", "id": "cov", "status": "active",
                       "beneficiary": {"reference": "Patient/siti"}, "payor": [{"reference": "Organization/bpjs"}]})
    fhir.put_resource({**_claim("siti", "rs1", "0301R0011124V000001", "2024-01-15"), "id": "c1"})
    fhir.put_resource({**_claim("siti", "rs1", "0301R0011124V000002", "2024-02-20T10:00:00+07:00"), "id": "c2"})
    fhir.put_resource({**_claim("budi", "rs2", "0301R0011124V000003", "2024-03-05", "draft"), "id": "c3"})
    fhir.put_resource({"resourceType": "ClaimResponse", "id": "r1", "status": "active", "use": "claim",
                       "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                            "code": "institutional"}]},
                       "patient": {"reference": "Patient/siti"}, "created": "2024-01-16",
                       "insurer": {"reference": "Organization/bpjs"}, "outcome": "complete",
                       "request": {"reference": "Claim/c1"}})
    fhir.put_resource({"resourceType": "Account", "id": "acc", "status": "active",
                       "subject": [{"reference": "Patient/siti"}],
                       "servicePeriod": {"start": "2024-01-10", "end": "2024-01-14"}})
    fhir.put_resource({"resourceType": "Invoice", "id": "inv", "status": "issued",
                       "subject": {"reference": "Patient/siti"}, "account": {"reference": "Account/acc"},
                       "totalGross": {"value": 3500000, "currency": "IDR"}})
    fhir.put_resource({"resourceType": "ChargeItem", "id": "ci", "status": "billable",
                       "code": {"coding": [{"system": "http://hospital.example/tariff",
                                            "code": "30601"}]},
                       "subject": {"reference": "Patient/siti"}, "account": [{"reference": "Account/acc"}],
                       "factorOverride": 0.8, "quantity": {"value": 2}})
    return fhir


def search(fhir, query: str, **kw) -> dict:
    response = fhir.get(query, **kw)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class TestToken:
    def test_system_and_code(self, data):
        assert _ids(search(data, f"/Patient?identifier={NIK}|3171000000000002")) == {"budi"}
        assert _ids(search(data, "/Patient?identifier=3171000000000001")) == {"siti"}
        assert _ids(search(data, "/Patient?identifier=|RM-77")) == {"budi"}  # no system
        assert _ids(search(data, f"/Patient?identifier={NIK}|")) == {"siti", "budi"}
        assert _ids(search(data, f"/Claim?identifier={SEP}|0301R0011124V000003")) == {"c3"}

    def test_or_values_and_not(self, data):
        assert _ids(search(data, "/Claim?status=active,draft")) == {"c1", "c2", "c3"}
        assert _ids(search(data, "/Claim?status:not=active")) == {"c3"}
        assert _ids(search(data, "/Patient?gender=female")) == {"siti"}

    def test_missing(self, data):
        assert _ids(search(data, "/Patient?gender:missing=true")) == {"odd"}
        assert _ids(search(data, "/Patient?gender:missing=false")) == {"siti", "budi"}

    def test_id(self, data):
        assert _ids(search(data, "/Claim?_id=c1,c3")) == {"c1", "c3"}


class TestString:
    def test_prefix_case_and_accent_insensitive(self, data):
        assert _ids(search(data, "/Patient?family=sury")) == {"siti"}
        assert _ids(search(data, "/Patient?name=SÜR")) == {"siti"}
        assert _ids(search(data, "/Patient?name=siti")) == {"siti"}

    def test_exact_and_contains(self, data):
        assert _ids(search(data, "/Patient?family:exact=Süryani")) == {"siti"}
        assert _ids(search(data, "/Patient?family:exact=süryani")) == set()
        assert _ids(search(data, "/Patient?family:contains=ntos")) == {"budi"}

    def test_like_wildcards_and_quotes_match_themselves(self, data):
        assert _ids(search(data, "/Patient?family=%25")) == set()  # '%' is not "anything"
        assert _ids(search(data, "/Patient?family=_")) == set()
        assert _ids(search(data, "/Patient?family=100%25_")) == {"odd"}
        assert _ids(search(data, "/Patient?family:contains=%25_r")) == {"odd"}
        assert _ids(search(data, "/Patient?family=' OR 1=1 --")) == set()
        assert _ids(search(data, "/Patient?family=x'); DROP TABLE resource; --")) == set()
        assert search(data, "/Patient")["total"] == 3


class TestReference:
    def test_forms_of_a_reference(self, data):
        assert _ids(search(data, "/Claim?patient=Patient/siti")) == {"c1", "c2"}
        assert _ids(search(data, "/Claim?patient=siti")) == {"c1", "c2"}
        assert _ids(search(data, "/Claim?patient=http://localhost/fhir/Patient/budi")) == {"c3"}  # this server
        assert _ids(search(data, "/Claim?patient=http://elsewhere.example/fhir/Patient/budi")) == set()  # another
        assert _ids(search(data, "/ClaimResponse?request=Claim/c1")) == {"r1"}
        assert _ids(search(data, "/Invoice?account=Account/acc")) == {"inv"}
        assert _ids(search(data, "/ChargeItem?account=acc")) == {"ci"}

    def test_chained(self, data):
        assert _ids(search(data, "/ClaimResponse?request.provider=Organization/rs1")) == {"r1"}
        assert _ids(search(data, "/ClaimResponse?request.provider=Organization/rs2")) == set()
        assert _ids(search(data, "/Claim?patient.family=santo")) == {"c3"}

    def test_where_resolve_is_patient(self, data):
        assert _ids(search(data, "/Account?patient=siti")) == {"acc"}


class TestDate:
    @pytest.mark.parametrize(("query", "expected"), [
        ("created=2024-01-15", {"c1"}),
        ("created=2024-02", {"c2"}),
        ("created=2024", {"c1", "c2", "c3"}),
        ("created=ne2024-01-15", {"c2", "c3"}),
        ("created=lt2024-02-20", {"c1"}),
        ("created=le2024-02-20", {"c1", "c2"}),
        ("created=gt2024-02-20", {"c3"}),
        ("created=ge2024-02-20", {"c2", "c3"}),
        ("created=ge2024-01-01&created=lt2024-03-01", {"c1", "c2"}),
        ("created=eq2024-02-20T03:00:00Z", {"c2"}),  # 10:00 WIB is 03:00 UTC
        ("created=sa2024-02-01", {"c2", "c3"}),
        ("created=eb2024-02-01", {"c1"}),
    ])
    def test_prefixes(self, data, query, expected):
        assert _ids(search(data, f"/Claim?{query}")) == expected

    def test_period(self, data):
        assert _ids(search(data, "/Account?period=ge2024-01-12")) == {"acc"}
        assert _ids(search(data, "/Account?period=gt2024-01-14")) == set()
        assert _ids(search(data, "/Account?period=lt2024-01-10")) == set()

    def test_last_updated(self, data):
        assert search(data, "/Claim?_lastUpdated=gt2000-01-01")["total"] == 3
        assert search(data, "/Claim?_lastUpdated=lt2000-01-01")["total"] == 0

    def test_the_last_updated_a_read_shows_finds_the_resource(self, data):
        """`meta.lastUpdated` is shown to the millisecond and kept to the microsecond: searched as shown, it names
        its millisecond, which holds the stored instant (a client's incremental sync: `gt` of the last one seen
        does not find it again)."""
        shown = data.get("/Claim/c1").get_json()["meta"]["lastUpdated"]
        assert "c1" in _ids(search(data, f"/Claim?_lastUpdated={shown}"))
        assert "c1" in _ids(search(data, f"/Claim?_lastUpdated=ge{shown}"))
        assert "c1" not in _ids(search(data, f"/Claim?_lastUpdated=gt{shown}"))
        assert "c1" not in _ids(search(data, f"/Claim?_lastUpdated=ne{shown}"))
        trail = search(data, "/AuditEvent?entity=Claim/c1")["entry"][0]["resource"]
        assert _ids(search(data, f"/AuditEvent?entity=Claim/c1&date={trail['recorded']}")) == {trail["id"]}
        assert _ids(search(data, f"/AuditEvent?entity=Claim/c1&date=gt{trail['recorded']}")) == set()

    def test_bad_date_is_400(self, data):
        assert data.get("/Claim?created=yesterday").status_code == 400


class TestNumberAndQuantity:
    def test_number(self, data):
        assert _ids(search(data, "/ChargeItem?factor-override=0.8")) == {"ci"}
        assert _ids(search(data, "/ChargeItem?factor-override=gt0.9")) == set()
        assert _ids(search(data, "/ChargeItem?factor-override=le1")) == {"ci"}

    def test_quantity(self, data):
        assert _ids(search(data, f"/Invoice?totalgross=3500000|{IDR}|IDR")) == {"inv"}
        assert _ids(search(data, f"/Invoice?totalgross=gt1000000|{IDR}|IDR")) == {"inv"}
        assert _ids(search(data, f"/Invoice?totalgross=gt1000000|{IDR}|USD")) == set()
        assert _ids(search(data, "/Invoice?totalgross=lt100")) == set()
        assert _ids(search(data, "/ChargeItem?quantity=2")) == {"ci"}

    def test_bad_number_is_400(self, data):
        assert data.get("/ChargeItem?quantity=two").status_code == 400


class TestResultParameters:
    def test_paging_links_walk_every_match_once(self, data):
        for n in range(7):
            data.create({"resourceType": "Organization", "name": f"Klinik {n}"})
        seen, url, pages = [], "/Organization?name=klinik&_count=3", 0
        while url:
            bundle = search(data, url)
            assert bundle["total"] == 7
            seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
            next_link = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
            url = next_link.split("/fhir", 1)[1] if next_link else None
            pages += 1
        assert pages == 3 and len(seen) == 7 and len(set(seen)) == 7
        second = search(data, "/Organization?name=klinik&_count=3&_offset=3")
        assert any(link["relation"] == "previous" for link in second["link"])

    def test_sort_on_dates(self, data):
        ascending = [e["resource"]["id"] for e in search(data, "/Claim?_sort=created")["entry"]]
        assert ascending == ["c1", "c2", "c3"]
        descending = [e["resource"]["id"] for e in search(data, "/Claim?_sort=-created")["entry"]]
        assert descending == ["c3", "c2", "c1"]

    def test_include_and_revinclude(self, data):
        bundle = search(data, "/Claim?_id=c1&_include=Claim:patient&_revinclude=ClaimResponse:request")
        assert _ids(bundle) == {"c1"}
        assert _ids(bundle, "include") == {"siti", "r1"}
        invoices = search(data, "/Invoice?_include=Invoice:account")
        assert _ids(invoices, "include") == {"acc"}

    def test_post_search_with_form_body(self, data):
        response = data.client.post("/fhir/Claim/_search", data={"patient": "Patient/budi"}, headers=data.headers)
        assert response.status_code == 200 and _ids(response.get_json()) == {"c3"}

    def test_summary_count_and_total_none(self, data):
        counted = search(data, "/Claim?_summary=count")
        assert counted["total"] == 3 and "entry" not in counted
        assert "total" not in search(data, "/Claim?_total=none")

    def test_unknown_parameter_strict_and_lenient(self, data):
        strict = data.get("/Claim?colour=red")
        assert strict.status_code == 400
        assert strict.get_json()["issue"][0]["expression"] == ["colour"]
        lenient = search(data, "/Claim?colour=red&status=draft", headers={"Prefer": "handling=lenient"})
        assert _ids(lenient) == {"c3"}
        self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
        assert parse_qs(urlsplit(self_link).query).keys() == {"status", "_count", "_offset"}

    def test_unknown_modifier_is_400(self, data):
        assert data.get("/Claim?status:below=x").status_code == 400
