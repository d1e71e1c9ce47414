"""The web app through Flask's test client on a real Runtime (SQLite, the embedded E-Klaim): sign-in, sessions and
CSRF, the worklist, the claim page and its actions, the dashboard, both languages."""

from __future__ import annotations

import re

import pytest
from webkit import PASSWORD, add_user, csrf, example, run_pipeline, sign_in

from fhirclaim import bpjs
from fhirclaim.store.jobs import JobQueue
from fhirclaim.store.users import UserRepository
from fhirclaim.webapp import i18n

from testkit import HOSPITAL, OTHER_HOSPITAL, authorized

HIP_CLAIM = "ex2-claim"


@pytest.fixture
def settings(settings, request):
    """The shared settings; with the BPJS-K simulator on, answering at once, for a test that asks for `simulator`."""
    if "simulator" not in request.fixturenames:
        return settings
    return settings.model_copy(update={"bpjs_simulator": True, "bpjs_simulator_delay_seconds": 0})


@pytest.fixture
def simulator(runtime) -> bpjs.BpjsSimulator:
    """The runtime's BPJS-K simulator, run by hand (`run_due`)."""
    return runtime.bpjs_simulator


@pytest.fixture
def web(app, runtime):
    add_user(runtime)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client


def _post_case(app, case: str, **kw) -> None:
    answer = authorized(app).post("", example(case, **kw))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    run_pipeline(app.extensions["fhirclaim"])


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- sign-in, sessions, CSRF --------------------------------------------------------------------------------


def test_every_page_needs_a_signed_in_user(app):
    answer = app.test_client().get("/app/claims?stage=attention")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/app/login?next=")


def test_sign_in_sets_a_fresh_httponly_samesite_session_cookie(app, runtime):
    add_user(runtime)
    client = app.test_client()
    answer = sign_in(client)
    assert answer.status_code == 302 and answer.headers["Location"] == "/app/claims"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app" in cookie and "Secure" not in cookie
    assert client.get("/app/claims").status_code == 200


def test_the_cookie_is_secure_over_https(app, runtime):
    add_user(runtime)
    client = app.test_client()
    token = CSRF_of(client.get("/app/login", base_url="https://localhost"))
    answer = client.post("/app/login", base_url="https://localhost",
                         data={"username": "ani", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in answer.headers["Set-Cookie"]


def CSRF_of(response) -> str:  # noqa: N802
    return re.search(r'name="csrf_token" value="([^"]+)"', _text(response)).group(1)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app, runtime):
    add_user(runtime)
    wrong = sign_in(app.test_client(), password="salah-salah-salah")
    unknown = sign_in(app.test_client(), username="nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in _text(wrong)


def test_repeated_failures_slow_down_that_source_only(app, runtime):
    add_user(runtime)
    for _ in range(3):
        assert sign_in(app.test_client(), password="tebakan-salah-1", address="10.9.9.9").status_code == 401
    assert sign_in(app.test_client(), password="tebakan-salah-1", address="10.9.9.9").status_code == 429
    assert sign_in(app.test_client(), address="10.9.9.9").status_code == 429  # even the right one, from there
    assert sign_in(app.test_client(), address="10.0.0.5").status_code == 302  # the owner elsewhere is not locked out


def test_guessing_usernames_from_one_source_is_slowed_down_too(app, runtime):
    add_user(runtime)
    for number in range(3):
        assert sign_in(app.test_client(), username=f"tebak{number}", address="10.8.8.8").status_code == 401
    assert sign_in(app.test_client(), username="tebak9", address="10.8.8.8").status_code == 429
    assert sign_in(app.test_client(), address="10.8.8.8").status_code == 302  # a real user's own key is apart


def test_a_form_without_its_csrf_token_is_refused(web):
    answer = web.post(f"/app/claims/{HIP_CLAIM}/purification", data={"decision": "lanjut"})
    assert answer.status_code == 400
    assert "Formulir kedaluwarsa" in _text(answer)
    assert web.post("/app/login", data={"username": "ani", "password": PASSWORD}).status_code == 400


def test_sign_out_ends_the_session(web):
    assert web.post("/app/logout", data={"csrf_token": csrf(web, "/app/claims")}).status_code == 302
    assert web.get("/app/claims").status_code == 302


def test_a_disabled_user_is_signed_out_at_the_next_request(web, runtime):
    with runtime.store.unit_of_work() as uow:
        UserRepository(uow.session).disable("ani")
    assert web.get("/app/claims").status_code == 302


# --- worklist -----------------------------------------------------------------------------------------------


def test_the_worklist_shows_what_needs_a_person_and_why(app, web):
    _post_case(app, "02-hip-replacement-special-cmg", without_special_cmg=True)
    _post_case(app, "05-precheck-rejected")
    _post_case(app, "01-outpatient-visit")
    page = _text(web.get("/app/claims?stage=attention"))
    assert "0301R0011026V000201" in page and "Pilihan special CMG menunggu" in page
    assert "0301R0011026V000501" in page and "Galat precheck" in page
    assert "0301R0011026V000101" not in page  # signed, waiting for BPJS-K: in progress, not a person's turn
    assert "2 klaim" in page
    only = _text(web.get("/app/claims?attention=special-cmg"))
    assert "0301R0011026V000201" in only and "0301R0011026V000501" not in only
    progress = _text(web.get("/app/claims?stage=progress"))
    assert "0301R0011026V000101" in progress and "Menunggu BPJS-K" in progress


def test_the_worklist_searches_by_sep_mr_number_and_name_and_sorts(app, web):
    _post_case(app, "01-outpatient-visit")
    _post_case(app, "05-precheck-rejected")
    by_sep = _text(web.get("/app/claims?q=0301R0011026V0001"))
    assert "0301R0011026V000101" in by_sep and "0301R0011026V000501" not in by_sep
    by_name = _text(web.get("/app/claims?q=kartika"))
    assert "0301R0011026V000501" in by_name and "0301R0011026V000101" not in by_name
    ascending = _text(web.get("/app/claims?sort=sep&dir=asc"))
    assert ascending.index("0301R0011026V000101") < ascending.index("0301R0011026V000501")
    descending = _text(web.get("/app/claims?sort=sep&dir=desc"))
    assert descending.index("0301R0011026V000501") < descending.index("0301R0011026V000101")
    assert "Tidak ada klaim yang cocok" in _text(web.get("/app/claims?q=%25%25"))  # LIKE wildcards are text


def test_bad_worklist_parameters_fall_back_to_defaults(web):
    answer = web.get("/app/claims?stage=drop+table&sort=password&page=-3&attention=x")
    assert answer.status_code == 200 and "Halaman 1 dari 1" in _text(answer) or "Tidak ada klaim" in _text(answer)


def test_a_user_sees_exactly_their_hospitals_claims(app, runtime):
    _post_case(app, "01-outpatient-visit")
    add_user(runtime, "budi", org=OTHER_HOSPITAL)
    other = app.test_client()
    assert sign_in(other, "budi").status_code == 302
    assert "0301R0011026V000101" not in _text(other.get("/app/claims"))
    assert other.get("/app/claims/ex1-claim").status_code == 404


# --- claim page and its actions -------------------------------------------------------------------------------


def test_the_claim_page_shows_findings_grouping_against_tarif_rs_and_the_timeline(app, web):
    _post_case(app, "05-precheck-rejected")
    _post_case(app, "03-class-upgrade")
    rejected = _text(web.get("/app/claims/ex5-claim"))
    assert "PRECHECK-TARIF-MINIMUM" in rejected and "Claim.total" in rejected  # what to fix, and where
    grouped = _text(web.get("/app/claims/ex3-claim"))
    assert "J-4-10-II" in grouped and "Rp 3.701.100" in grouped and "Rp 3.650.000" in grouped
    assert 'id="difference">Rp 51.100' in grouped  # INA-CBG minus tarif RS: a gain
    assert 'id="signature">valid' in grouped
    assert "Bundle v1 signed" in grouped and "Claim v1" in grouped


def test_the_special_cmg_choice_regroups_the_claim_and_is_audited_under_the_user(app, web, runtime):
    _post_case(app, "02-hip-replacement-special-cmg", without_special_cmg=True)
    page = _text(web.get(f"/app/claims/{HIP_CLAIM}"))
    assert 'id="cmg-RR04Hip"' in page and 'id="cmg-YY01"' in page
    answer = web.post(f"/app/claims/{HIP_CLAIM}/special-cmg",
                      data={"special_cmg": ["RR04Hip", "YY01"], "csrf_token": csrf(web, "/app/claims")})
    assert answer.status_code == 302
    run_pipeline(runtime)
    page = _text(web.get(f"/app/claims/{HIP_CLAIM}"))
    assert "RR-04-III-Hip" in page and "YY-01-II" in page and "Rp 62.503.200" in page
    assert "special-cmg-form" not in page
    events = authorized(app).get("/AuditEvent?_count=200").get_json()["entry"]
    mine = [e["resource"]["outcomeDesc"] for e in events
            if e["resource"]["agent"][0]["who"].get("display") == "user:ani"]
    assert any(re.fullmatch(r"update Claim/ex2-claim/_history/\d+", text) for text in mine), mine


def test_a_special_cmg_that_was_not_offered_is_refused(app, web):
    _post_case(app, "02-hip-replacement-special-cmg", without_special_cmg=True)
    answer = web.post(f"/app/claims/{HIP_CLAIM}/special-cmg",
                      data={"special_cmg": ["ZZ99"], "csrf_token": csrf(web, "/app/claims")})
    assert answer.status_code == 422 and "ZZ99" in _text(answer)


def test_the_purification_decision_lanjut_goes_to_verification(app, web, runtime, simulator):
    _post_case(app, "01-outpatient-visit")
    simulator.run_due(runtime.store)
    page = _text(web.get("/app/claims/ex1-claim"))
    assert 'id="decision-lanjut"' in page and "Keputusan purifikasi ditunggu" in page
    answer = web.post("/app/claims/ex1-claim/purification",
                      data={"decision": "lanjut", "csrf_token": csrf(web, "/app/claims")})
    assert answer.status_code == 302
    assert "Lanjut, menunggu verifikasi" in _text(web.get("/app/claims/ex1-claim"))
    simulator.run_due(runtime.store)
    assert "Terverifikasi" in _text(web.get("/app/claims/ex1-claim"))
    assert "0301R0011026V000101" in _text(web.get("/app/claims?stage=done"))


def test_a_purification_decision_needs_a_purification_and_a_known_answer(app, web):
    _post_case(app, "01-outpatient-visit")
    token = csrf(web, "/app/claims")
    early = web.post("/app/claims/ex1-claim/purification", data={"decision": "lanjut", "csrf_token": token})
    assert early.status_code == 409
    odd = web.post("/app/claims/ex1-claim/purification", data={"decision": "mungkin", "csrf_token": token})
    assert odd.status_code == 400


def test_a_coder_may_not_answer_a_purification(app, runtime):
    add_user(runtime, "coder1", role="coder")
    client = app.test_client()
    sign_in(client, "coder1")
    answer = client.post("/app/claims/ex1-claim/purification",
                         data={"decision": "lanjut", "csrf_token": csrf(client, "/app/claims")})
    assert answer.status_code == 403


# --- BPJS-K's pending verification, answered from the claim page ----------------------------------------------


READMISSION = "Potensi readmisi: pasien pulang 9 hari sebelumnya / Possible readmission: discharged 9 days earlier"


@pytest.fixture
def pending_claim(app, web, runtime, simulator, monkeypatch):
    """Example 01 purified, decided Lanjut from the claim page, and returned as pending by the BPJS-K simulator (its
    finding injected: the readmission rule itself is tested in tests/bpjs); the simulator."""
    from fhirclaim.bpjs import simulator as simulator_module
    from fhirclaim.bpjs.verification import PendingFinding

    monkeypatch.setattr(simulator_module, "pending_findings",
                        lambda claim, others: [PendingFinding("readmission", READMISSION)])
    _post_case(app, "01-outpatient-visit")
    simulator.run_due(runtime.store)
    web.post("/app/claims/ex1-claim/purification", data={"decision": "lanjut", "csrf_token": csrf(web, "/app/claims")})
    simulator.run_due(runtime.store)
    monkeypatch.setattr(simulator_module, "pending_findings", lambda claim, others: [])
    return simulator


def test_a_pending_verification_shows_its_reasons_in_the_worklist_and_on_the_claim_page(web, pending_claim):
    listed = _text(web.get("/app/claims?attention=pending-bpjs"))
    assert "0301R0011026V000101" in listed and "Jawab konfirmasi BPJS-K" in listed
    page = _text(web.get("/app/claims/ex1-claim"))
    assert "Potensi readmisi: konfirmasi episode" in page and READMISSION in page
    assert 'id="pending-form"' in page and 'id="answer-confirmed"' in page and 'id="answer-corrected"' in page
    assert 'data-attention="pending-bpjs"' in _text(web.get("/app/claims"))


def test_answering_a_pending_verification_resubmits_the_claim_through_the_domain_function(app, web, runtime,
                                                                                           pending_claim):
    answer = web.post("/app/claims/ex1-claim/pending", data={
        "answer": "confirmed", "text": "Episode berbeda: resume episode sebelumnya terlampir",
        "csrf_token": csrf(web, "/app/claims")})
    assert answer.status_code == 302
    page = _text(web.get("/app/claims/ex1-claim"))
    assert "Jawaban terkirim" in page
    assert 'id="pending-answered"' in page and "dikonfirmasi" in page and 'id="pending-form"' not in page
    claim = authorized(app).get("/Claim/ex1-claim").get_json()
    extension = next(e for e in claim["extension"] if e["url"].endswith("/pending-answer"))
    parts = {p["url"]: p for p in extension["extension"]}
    assert parts["answer"]["valueCoding"]["code"] == "confirmed"
    assert parts["claimResponse"]["valueReference"]["reference"].startswith("ClaimResponse/")
    assert "0301R0011026V000101" not in _text(web.get("/app/claims?attention=pending-bpjs"))
    with runtime.store.unit_of_work(write=False) as uow:
        job = JobQueue(uow.session).latest_for_claim("ex1-claim", HOSPITAL)
    assert (str(job.claim_version), job.kind) == (claim["meta"]["versionId"], "submit")  # the answer runs again


def test_a_pending_answer_needs_a_pending_verification_a_known_answer_a_note_and_the_role(app, web, runtime):
    _post_case(app, "01-outpatient-visit")
    token = csrf(web, "/app/claims")
    early = web.post("/app/claims/ex1-claim/pending", data={"answer": "confirmed", "text": "x", "csrf_token": token})
    assert early.status_code == 409
    add_user(runtime, "coder2", role="coder")
    coder = app.test_client()
    sign_in(coder, "coder2")
    refused = coder.post("/app/claims/ex1-claim/pending",
                         data={"answer": "confirmed", "text": "x", "csrf_token": csrf(coder, "/app/claims")})
    assert refused.status_code == 403


def test_a_pending_answer_that_is_neither_confirmed_nor_corrected_or_without_a_note_is_refused(web, pending_claim):
    token = csrf(web, "/app/claims")
    odd = web.post("/app/claims/ex1-claim/pending", data={"answer": "mungkin", "text": "x", "csrf_token": token})
    assert odd.status_code == 422 and "confirmed" in _text(odd)
    empty = web.post("/app/claims/ex1-claim/pending", data={"answer": "corrected", "text": "  ", "csrf_token": token})
    assert empty.status_code == 422
    assert 'id="pending-form"' in _text(web.get("/app/claims/ex1-claim"))  # still unanswered


# --- webhooks in the timeline, resubmit ------------------------------------------------------------------------------


def test_the_timeline_shows_the_hospitals_webhook_notifications_about_the_claim(app, web, runtime):
    hook = {"resourceType": "Subscription", "status": "requested", "reason": "klaim", "criteria": "ClaimResponse?",
            "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/simrs/hooks?token=rahasia",
                        "payload": "application/fhir+json"},
            "extension": [{"url": "https://fhirclaim.org/fhir/StructureDefinition/subscription-secret",
                           "valueString": "rahasia-tanda-tangan-webhook-1234567890"}]}
    assert authorized(app).post("/Subscription", hook).status_code == 201
    other = {**hook, "channel": {**hook["channel"], "endpoint": "http://127.0.0.1:7/other-hospital"}}
    assert authorized(app, org=OTHER_HOSPITAL).post("/Subscription", other).status_code == 201
    _post_case(app, "03-class-upgrade")
    runtime.webhook_worker.run_once()  # one attempt each: nothing listens on port 9, so it waits for a retry
    rows = re.findall(r'<tr class="event-webhook">(.*?)</tr>', _text(web.get("/app/claims/ex3-claim")), re.S)
    assert rows and all("127.0.0.1:9" in r and "ClaimResponse/" in r for r in rows)
    assert any("pending, 1×" in r for r in rows)
    page = _text(web.get("/app/claims/ex3-claim"))
    assert "rahasia" not in page and "/simrs/hooks" not in page and "127.0.0.1:7" not in page


def _latest_job(runtime, claim_id: str):
    with runtime.store.unit_of_work(write=False) as uow:
        return JobQueue(uow.session).latest_for_claim(claim_id, HOSPITAL)


def test_resubmit_of_a_failed_claim_whose_inputs_did_not_change_runs_nothing_and_says_so(app, web, runtime):
    _post_case(app, "05-precheck-rejected")
    page = _text(web.get("/app/claims/ex5-claim"))
    assert 'id="resubmit-submit"' in page and 'id="claim-unchanged"' in page
    before = _latest_job(runtime, "ex5-claim")
    answer = web.post("/app/claims/ex5-claim/resubmit", data={"csrf_token": csrf(web, "/app/claims")})
    assert answer.status_code == 302
    page = _text(web.get("/app/claims/ex5-claim"))
    assert "Tidak ada yang berubah sejak proses terakhir: tidak diproses ulang" in page
    assert _latest_job(runtime, "ex5-claim").id == before.id


def test_resubmit_runs_a_failed_claim_again_when_its_last_run_may_have_read_other_versions(app, web, runtime):
    from sqlalchemy import update

    from fhirclaim.store.jobs import ClaimJobRow

    _post_case(app, "05-precheck-rejected")
    with runtime.store.unit_of_work() as uow:  # a run recorded before the server kept what a job read
        uow.session.execute(update(ClaimJobRow).where(ClaimJobRow.claim_id == "ex5-claim").values(inputs=None))
    before = _latest_job(runtime, "ex5-claim")
    assert 'id="claim-unchanged"' not in _text(web.get("/app/claims/ex5-claim"))
    web.post("/app/claims/ex5-claim/resubmit", data={"csrf_token": csrf(web, "/app/claims")})
    assert "Diajukan ulang" in _text(web.get("/app/claims/ex5-claim"))
    after = _latest_job(runtime, "ex5-claim")
    assert after.id != before.id and after.claim_version == before.claim_version and after.status == "queued"


def test_a_claim_that_did_not_end_in_error_offers_no_resubmit(app, web, runtime):
    _post_case(app, "03-class-upgrade")
    assert 'id="resubmit-form"' not in _text(web.get("/app/claims/ex3-claim"))
    web.post("/app/claims/ex3-claim/resubmit", data={"csrf_token": csrf(web, "/app/claims")})
    assert "tidak berakhir galat" in _text(web.get("/app/claims/ex3-claim"))


def test_resubmit_needs_a_csrf_token_and_a_claim_of_ones_own_hospital(app, runtime, web):
    _post_case(app, "05-precheck-rejected")
    assert web.post("/app/claims/ex5-claim/resubmit").status_code == 400
    add_user(runtime, "budi2", org=OTHER_HOSPITAL)
    other = app.test_client()
    sign_in(other, "budi2")
    assert other.post("/app/claims/ex5-claim/resubmit",
                      data={"csrf_token": csrf(other, "/app/claims")}).status_code == 404


# --- dashboard and languages ----------------------------------------------------------------------------------


def test_the_dashboard_draws_status_tariffs_and_the_pareto_of_causes(app, web):
    _post_case(app, "05-precheck-rejected")
    _post_case(app, "03-class-upgrade")
    page = _text(web.get("/app/dashboard"))
    assert page.count("<svg") == 3
    assert "PRECHECK-TARIF-MINIMUM" in page and "Rp 3.701.100" in page


def test_english_is_a_choice_and_every_word_exists_in_both_languages(web):
    words = i18n.strings()
    assert set(words["id"]) == set(words["en"])
    web.get("/app/language/en?next=/app/claims")
    assert "Claims worklist" in _text(web.get("/app/claims"))
    assert web.get("/app/language/xx").status_code == 404


# --- the worklist table kept in step --------------------------------------------------------------------------


def test_a_deleted_claim_leaves_the_worklist(app, web):
    assert authorized(app).post("", example("01-outpatient-visit")).status_code == 200  # not processed yet
    assert "Menunggu E-Klaim" in _text(web.get("/app/claims?q=0301R0011026V000101"))
    assert authorized(app).delete("/Claim/ex1-claim").status_code in (200, 204)
    assert "0301R0011026V000101" not in _text(web.get("/app/claims"))


def test_rebuild_writes_the_lines_of_claims_stored_before_the_worklist(app, web, runtime):
    from sqlalchemy import delete

    from fhirclaim.bpjs.worklist_projection import rebuild
    from fhirclaim.store.models import WorklistRow

    _post_case(app, "05-precheck-rejected")
    with runtime.store.unit_of_work() as uow:
        uow.session.execute(delete(WorklistRow))
    assert "0301R0011026V000501" not in _text(web.get("/app/claims"))
    assert rebuild(runtime.store, batch=1) == 1
    page = _text(web.get("/app/claims?attention=precheck-error"))
    assert "0301R0011026V000501" in page and "DEWI KARTIKA" in page.upper()


def test_the_eklaim_print_is_a_pdf(app, web):
    _post_case(app, "01-outpatient-visit")
    answer = web.get("/app/claims/ex1-claim/print.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")


def test_sign_in_and_sign_out_are_audited_in_the_users_hospital(app, web):
    web.post("/app/logout", data={"csrf_token": csrf(web, "/app/claims")})
    events = authorized(app).get("/AuditEvent?_count=200").get_json().get("entry", [])
    mine = sorted(e["resource"]["outcomeDesc"] for e in events
                  if e["resource"]["agent"][0]["who"].get("display") == "user:ani")
    assert mine == ["web app sign-in", "web app sign-out"]


def test_every_form_field_has_a_label(app, web):
    _post_case(app, "02-hip-replacement-special-cmg", without_special_cmg=True)
    for path in ("/app/claims", f"/app/claims/{HIP_CLAIM}"):
        page = _text(web.get(path))
        fields = re.findall(r'<input(?![^>]*type="hidden")[^>]*id="([^"]+)"', page)
        assert fields and all(f'<label for="{field}"' in page for field in fields), path
    login = _text(app.test_client().get("/app/login"))
    assert '<label for="username"' in login and '<label for="password"' in login


def test_an_unknown_language_answers_an_html_page(web):
    answer = web.get("/app/language/xx")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
