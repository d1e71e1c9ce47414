"""A read's query parameters and headers as the REST layer reads them (issue 17 made that path leaner):
`_pretty`, `_format` and Accept, ETag and Last-Modified."""

from __future__ import annotations

import json

import pytest

from fhirclaim.app import create_app

from testkit import authorized


def _patient(app):
    client = authorized(app)
    created = client.post("/Patient", {"resourceType": "Patient", "gender": "female"})
    return client, created.json["id"]


def test_a_read_answers_the_stored_json_or_pretty_json_when_asked(app):
    client, patient_id = _patient(app)
    plain = client.get(f"/Patient/{patient_id}")
    pretty = client.get(f"/Patient/{patient_id}?_pretty=true")
    not_pretty = client.get(f"/Patient/{patient_id}?_pretty=false")
    assert plain.status_code == pretty.status_code == not_pretty.status_code == 200
    assert "\n" not in plain.get_data(as_text=True) and "\n" in pretty.get_data(as_text=True)
    assert not_pretty.get_data() == plain.get_data()
    assert json.loads(pretty.get_data()) == json.loads(plain.get_data()) == plain.json
    assert plain.headers["ETag"] == 'W/"1"' and plain.headers["Last-Modified"].endswith(" GMT")
    assert plain.headers["Content-Type"] == "application/fhir+json; charset=utf-8"


def test_a_read_in_xml_only_is_refused_and_json_is_served(app):
    client, patient_id = _patient(app)
    assert client.get(f"/Patient/{patient_id}?_format=xml").status_code == 406
    assert client.get(f"/Patient/{patient_id}", headers={"Accept": "application/fhir+xml"}).status_code == 406
    assert client.get(f"/Patient/{patient_id}?_format=json").status_code == 200
    assert client.get(f"/Patient/{patient_id}", headers={"Accept": "application/fhir+json"}).status_code == 200


def test_http_date_writes_what_the_email_module_writes():
    import random
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    from fhirclaim.api.http import http_date

    chance = random.Random(17)
    moments = [datetime(2026, 12, 3, 15, 41, 28, 999999), datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]
    for _ in range(2000):
        moment = datetime(1970, 1, 1) + timedelta(seconds=chance.uniform(0, 4e9))
        zone = chance.choice([None, timezone.utc, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5))])
        moments.append(moment.replace(tzinfo=zone) if zone else moment)
    for moment in moments:
        utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        assert http_date(moment) == format_datetime(utc.replace(microsecond=0), usegmt=True), moment


def test_a_reads_headers_are_sent_once_each_with_the_bodys_length(app):
    client, patient_id = _patient(app)
    answer = client.get(f"/Patient/{patient_id}", headers={"X-Request-ID": "r-17"})
    names = [name.lower() for name, _ in answer.headers]
    assert sorted(names) == ["content-length", "content-type", "etag", "last-modified", "x-request-id"]
    assert answer.headers["Content-Length"] == str(len(answer.get_data()))
    assert answer.headers["X-Request-ID"] == "r-17"


def test_writes_still_answer_their_location_and_prefer(app):
    client = authorized(app)
    created = client.post("/Patient", {"resourceType": "Patient", "gender": "male"})
    location = created.headers["Location"]
    assert created.status_code == 201 and location.endswith(f"/Patient/{created.json['id']}/_history/1")
    minimal = client.put(f"/Patient/{created.json['id']}", {"resourceType": "Patient", "id": created.json["id"]},
                         headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 200 and minimal.get_data() == b"" and minimal.headers["ETag"] == 'W/"2"'
    assert minimal.headers["Location"].endswith("/_history/2")
    outcome = client.put(f"/Patient/{created.json['id']}", {"resourceType": "Patient", "id": created.json["id"],
                                                             "gender": "female"},
                         headers={"Prefer": "return=OperationOutcome"})
    assert outcome.json["resourceType"] == "OperationOutcome" and outcome.headers["ETag"] == 'W/"3"'
    pretty = client.put(f"/Patient/{created.json['id']}?_pretty=true",
                        {"resourceType": "Patient", "id": created.json["id"], "gender": "other"})
    assert "\n" in pretty.get_data(as_text=True) and pretty.json["gender"] == "other"


def test_a_write_honours_every_prefer_header_it_was_sent(app):
    """Prefer is read once from the WSGI environ, where the server joined repeated headers (issue 17): each one
    counts, as the RFC 7240 list it is."""
    token = authorized(app).headers["Authorization"]
    headers = [("Authorization", token), ("Prefer", "handling=strict"), ("Prefer", 'return="minimal"')]
    answer = app.test_client().post("/fhir/Patient", json={"resourceType": "Patient"}, headers=headers,
                                    content_type="application/fhir+json")
    assert answer.status_code == 201 and answer.get_data() == b"" and answer.headers["ETag"] == 'W/"1"'
    headers = [("Authorization", token), ("Prefer", "return=OperationOutcome, handling=lenient")]
    answer = app.test_client().post("/fhir/Patient", json={"resourceType": "Patient"}, headers=headers)
    assert answer.status_code == 201 and answer.json["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("public_base, location_base", [
    (None, "http://localhost/fhir"), ("https://klaim.example.id/fhir", "https://klaim.example.id/fhir"),
    ("https://klaim.example.id/jkn fhir", "https://klaim.example.id/jkn%20fhir"),
    ("https://rsüd.example.id/fhir", "https://xn--rsd-ioa.example.id/fhir")])
def test_a_creates_headers_are_sent_once_each_and_its_location_is_a_uri(settings, runtime, public_base,
                                                                        location_base):
    """A 201 is sent with the headers `render` wrote, unless its Location is not a URI yet: werkzeug then makes
    it one, as it did for every write before (issue 17)."""
    app = create_app(settings.model_copy(update={"public_base_url": public_base}), runtime)
    created = authorized(app).post("/Patient", {"resourceType": "Patient"}, headers={"X-Request-ID": "c-17"})
    names = sorted(name.lower() for name, _ in created.headers)
    assert created.status_code == 201
    assert names == ["content-length", "content-type", "etag", "last-modified", "location", "x-request-id"]
    assert created.headers["Location"] == f"{location_base}/Patient/{created.json['id']}/_history/1"
    assert created.headers["Content-Length"] == str(len(created.get_data()))
    assert created.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
