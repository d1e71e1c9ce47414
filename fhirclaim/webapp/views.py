"""The web app's routes (`/app/`): one blueprint, one small handler per page or form.

Who is signed in becomes the same `g.principal` / `g.scope` a facility client's bearer token gives, so every read
and write goes through `api.context.fhir_service`: the hospital's tenant scope, its authorizer, the pipeline
trigger, audit (under `user:<name>`) — no second implementation. Sessions are Flask's signed cookie (HttpOnly,
SameSite=Lax, Secure behind HTTPS) keyed by `DATA_DIR/webapp-session.key`; every form carries a CSRF token.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from fhirclaim.api.auth import caller_address
from fhirclaim.api.request_scope import fhir_service, runtime
from fhirclaim.auth import audit
from fhirclaim.auth.policy import scope_for
from fhirclaim.bpjs.worklist_projection import ATTENTION, STAGES
from fhirclaim.claims import claim_operations
from fhirclaim.fhir.outcome import FhirError
from fhirclaim.signing.verify import verify_bundle
from fhirclaim.startup import create_private_file
from fhirclaim.store.worklist import SORTS, WorklistQuery
from fhirclaim.webapp import charts, claim_page, i18n
from fhirclaim.webapp.accounts import SignedIn, SignInRefused, UserAccounts
from fhirclaim.webapp.dashboard import dashboard as month_dashboard
from fhirclaim.webapp.dashboard import month_start

log = logging.getLogger(__name__)
blueprint = Blueprint("webapp", __name__, url_prefix="/app", template_folder="templates",
                      static_folder="static", static_url_path="/static")
PUBLIC = {"webapp.sign_in", "webapp.static", "webapp.language"}
PAGE_SIZE = 25
SESSION_HOURS = 8


class AppSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure whenever the request came over HTTPS (or the public base is https)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def register(app: Flask) -> None:
    rt = app.extensions["fhirclaim"]
    app.secret_key = _session_key(rt.data_dir)
    app.session_interface = AppSessionInterface()
    app.config.update(SESSION_COOKIE_NAME="fhirclaim_app", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/app",
                      SESSION_COOKIE_SECURE=(rt.settings.public_base_url or "").startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS))
    app.extensions["fhirclaim.users"] = UserAccounts(rt.store, rt.clients.throttle)
    app.register_blueprint(blueprint)


def _session_key(data_dir: Path) -> bytes:
    """The key signing session cookies: DATA_DIR/webapp-session.key (0600), made on first start."""
    path = data_dir / "webapp-session.key"
    if not path.exists():  # written whole, then linked into place: processes starting together share one key
        draft = data_dir / f".webapp-session.key.{os.getpid()}"
        create_private_file(draft)
        draft.write_text(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


def accounts() -> UserAccounts:
    return current_app.extensions["fhirclaim.users"]


# --- every request ------------------------------------------------------------------------------------------


@blueprint.before_request
def _guard():
    g.lang = session.get("lang", i18n.DEFAULT)
    if request.method == "POST" and not _csrf_ok():
        return _page("error.html", status=400, message=t("csrf.refused"))
    if request.endpoint in PUBLIC:
        return None
    user = accounts().active(session.get("user", "")) if session.get("user") else None
    if user is None:
        session.pop("user", None)
        return redirect(url_for("webapp.sign_in", next=request.full_path))
    g.user = SignedIn(user)
    g.principal = g.user.principal
    g.scope = scope_for(g.principal)
    g.caller = g.user.author
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                                           "style-src 'self'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.errorhandler(FhirError)
def _fhir_error(error: FhirError):
    message = t("error.not_found") if error.status == 404 else "; ".join(i.text for i in error.issues)
    return _page("error.html", status=error.status, message=message)


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _page("error.html", status=error.code or 500, message=error.description)


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("web app request failed", extra={"path": request.path})
    return _page("error.html", status=500, message=t("error.title"))


@blueprint.app_template_global()
def t(key: str, **values: object) -> str:
    return i18n.translate(g.get("lang", i18n.DEFAULT), key, **values)


@blueprint.app_template_global()
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@blueprint.app_template_filter("rupiah")
def _rupiah(value: object) -> str:
    return i18n.rupiah(value)


@blueprint.app_template_filter("day")
def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _csrf_ok() -> bool:
    expected, given = session.get("csrf"), request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(expected, given)


def _page(template: str, status: int = 200, **context):
    return render_template(f"webapp/{template}", **context), status


def _local_next(default: str) -> str:
    target = request.values.get("next", "")
    return target if target.startswith("/app/") and not target.startswith("//") else default


# --- sign-in, sign-out, language ---------------------------------------------------------------------------


@blueprint.route("/login", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        return _page("login.html", next=_local_next(""))
    username, password = request.form.get("username", "").strip(), request.form.get("password", "")
    address = caller_address()
    try:
        signed_in = accounts().sign_in(username, password, address)
    except SignInRefused as refused:
        runtime().security_log.record(source=address, kind="signin-refused",
                                      description=f"web app sign-in as {username[:64]!r} refused")
        message = t("login.wait", seconds=refused.retry_after) if refused.retry_after else t("login.refused")
        return _page("login.html", status=429 if refused.retry_after else 401, error=message,
                     next=_local_next(""), username=username)
    lang = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the signed-in user: no fixation
    session.update(user=signed_in.user.username, csrf=secrets.token_urlsafe(32), **({"lang": lang} if lang else {}))
    session.permanent = True
    _audit(signed_in, "sign-in")
    return redirect(_local_next(url_for("webapp.worklist")))


@blueprint.post("/logout")
def sign_out():
    _audit(g.user, "sign-out")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(i18n.translate(lang or i18n.DEFAULT, "login.signed_out"))
    return redirect(url_for("webapp.sign_in"))


@blueprint.get("/language/<lang>")
def language(lang: str):
    if lang not in i18n.LANGUAGES:
        abort(404)
    session["lang"] = lang
    return redirect(_local_next(url_for("webapp.worklist")))


def _audit(user: SignedIn, what: str) -> None:
    """A sign-in or sign-out as an AuditEvent in the user's hospital, under the user's name."""
    audit.record(runtime().store, tenant=user.user.org, interaction="operation", who=user.author, outcome="0",
                 description=f"web app {what}", address=caller_address())


# --- worklist -----------------------------------------------------------------------------------------------


@blueprint.get("/")
def home():
    return redirect(url_for("webapp.worklist"))


@blueprint.get("/claims")
def worklist():
    query = _worklist_query()
    with runtime().store.unit_of_work(write=False) as uow:
        lines, total = uow.worklist.page(query)
        counts = uow.worklist.counts(query.tenant)
    pages = max(1, -(-total // query.size))
    return _page("worklist.html", lines=lines, total=total, query=query, pages=pages, counts=counts,
                 stages=STAGES, attention=ATTENTION, sorts=SORTS, link=_worklist_link)


def _worklist_query() -> WorklistQuery:
    args = request.args
    stage = args.get("stage") if args.get("stage") in STAGES else None
    attention = args.get("attention") if args.get("attention") in ATTENTION else None
    page = int(args["page"]) if args.get("page", "").isdigit() and 0 < int(args["page"]) < 100_000 else 1
    return WorklistQuery(tenant=g.user.user.org, stage="attention" if attention else stage, attention=attention,
                         text=args.get("q", "")[:64], sort=args.get("sort") if args.get("sort") in SORTS
                         else "updated", descending=args.get("dir") != "asc", page=page, size=PAGE_SIZE)


def _worklist_link(query: WorklistQuery, **changes: object) -> str:
    values = {"stage": query.stage if not query.attention else None, "attention": query.attention,
              "q": query.text or None, "sort": query.sort, "dir": "desc" if query.descending else "asc",
              "page": query.page} | changes
    return url_for("webapp.worklist") + "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


# --- a claim ------------------------------------------------------------------------------------------------


@blueprint.get("/claims/<claim_id>")
def claim(claim_id: str):
    rt = runtime()
    with fhir_service(write=False) as service:
        page = claim_page.claim_page(
            service, claim_id, timezone=rt.settings.timezone,
            precheck=lambda body: claim_operations.precheck_outcome(service.uow, body,
                                                              rt.tenant_policy.claim_settings(g.user.user.org)),
            verify=lambda bundle: verify_bundle(bundle, trust=rt.signing.trust_policy()))
    return _page("claim.html", page=page, user=g.user)


@blueprint.post("/claims/<claim_id>/special-cmg")
def choose_special_cmg(claim_id: str):
    _require("choose-special-cmg")
    with fhir_service(write=True) as service:
        claim_page.choose_special_cmg(service, claim_id, request.form.getlist("special_cmg"))
    flash(t("claim.saved"))
    return redirect(url_for("webapp.claim", claim_id=claim_id))


@blueprint.post("/claims/<claim_id>/purification")
def answer_purification(claim_id: str):
    _require("answer-purification")
    now = datetime.now(ZoneInfo(runtime().settings.timezone))
    with fhir_service(write=True) as service:
        claim_page.answer_purification(service, claim_id, request.form.get("decision", ""), g.user.user.org, now)
    flash(t("claim.decided"))
    return redirect(url_for("webapp.claim", claim_id=claim_id))


@blueprint.post("/claims/<claim_id>/pending")
def answer_pending(claim_id: str):
    _require("answer-pending")
    with fhir_service(write=True) as service:
        claim_page.answer_pending_verification(service, claim_id, request.form.get("answer", ""),
                                               request.form.get("text", ""), request.form.getlist("document"))
    flash(t("claim.pending_sent"))
    return redirect(url_for("webapp.claim", claim_id=claim_id))


@blueprint.post("/claims/<claim_id>/resubmit")
def resubmit(claim_id: str):
    _require("resubmit")
    with fhir_service(write=True) as service:
        zone = runtime().tenant_policy.claim_settings(g.user.user.org).timezone
        outcome = claim_page.resubmit(service, claim_id, zone)
    flash(t(f"claim.resubmit.{outcome}"))
    return redirect(url_for("webapp.claim", claim_id=claim_id))


@blueprint.get("/claims/<claim_id>/print.pdf")
def print_claim(claim_id: str):
    pdf = claim_operations.print_claim(fhir_service, claim_id, runtime().tenant_policy.eklaim_gateway)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="klaim-{claim_id}.pdf"'})


def _require(action: str) -> None:
    if not g.user.may(action):
        raise FhirError.of(403, "forbidden", t("claim.not_allowed"))


# --- dashboard ----------------------------------------------------------------------------------------------


@blueprint.get("/dashboard")
def dashboard():
    zone = ZoneInfo(runtime().settings.timezone)
    start = month_start(datetime.now(zone)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    with runtime().store.unit_of_work(write=False) as uow:
        board = month_dashboard(uow.worklist.since(g.user.user.org, start))
    figures = {
        "status": charts.bar_chart(t("dashboard.per_status"),
                                   [(t(f"status.{s}"), [n]) for s, n in board.per_status]),
        "tariff": charts.bar_chart(t("dashboard.tariff"),
                                   [(t(f"care.{r['care_type']}"), [float(r["tariff"]), float(r["tarif_rs"])])
                                    for r in board.per_care_type],
                                   series=[t("claim.inacbg_total"), t("claim.tarif_rs")], value_text=i18n.rupiah),
        "pareto": charts.pareto_chart(t("dashboard.pareto"), [(c, n) for c, n, _ in board.pareto],
                                      t("dashboard.cumulative")),
    }
    return _page("dashboard.html", board=board, figures=figures)
