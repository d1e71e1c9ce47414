"""The `fhirclaim` command.

Each command parses its options and hands over to one function of the package that owns the concern; no
command holds domain logic of its own. Imports sit inside the commands so that `fhirclaim --help` stays fast.

A process that cannot start for a reason the user can fix (port taken, database URL malformed or database
unreachable, data dir not writable, key file missing or damaged) raises `StartupError` where the problem is found;
`FhirclaimGroup.invoke`, the one place that knows, prints it as one line on stderr and exits with status 2.
Every other exception keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fhirclaim.startup import StartupError


class FhirclaimGroup(click.Group):
    """The `fhirclaim` command group: a StartupError from any command becomes `Error: <message>` and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StartupError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)


@click.group(cls=FhirclaimGroup)
@click.version_option(package_name="fhirclaim")
def main() -> None:
    """FHIR-native claim facade for JKN / BPJS Kesehatan (FHIR R4 → E-Klaim / INA-CBG → signed Bundle)."""


# --- the facade server --------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="interface to listen on [127.0.0.1]")
@click.option("--port", type=int, default=None, help="port to listen on [8080]")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="data directory [./fhirclaim-data]")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: SQLite in the data dir)")
@click.option("--sandbox", is_flag=True, default=None,
              help="create demo clients per role (DATA_DIR/sandbox-clients.json) and run the BPJS-K simulator")
def serve(host: str | None, port: int | None, data_dir: Path | None, database_url: str | None,
          sandbox: bool | None) -> None:
    """Serve the FHIR API at /fhir (SQLite + in-process E-Klaim emulator by default)."""
    from fhirclaim.server import serve_forever

    serve_forever(_settings(host=host, port=port, data_dir=data_dir, database_url=database_url, sandbox=sandbox))


# --- OAuth2 clients -----------------------------------------------------------------------------------------

_STORAGE = [
    click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                 help="the server's data directory [FHIRCLAIM_DATA_DIR, else ./fhirclaim-data]"),
    click.option("--database-url", default=None, help="SQLAlchemy URL (default: SQLite in the data dir)"),
]


def _storage(command):
    for option in reversed(_STORAGE):
        command = option(command)
    return command


@main.group()
def clients() -> None:
    """Manage OAuth2 clients (client credentials)."""


@clients.command("add")
@click.option("--role", type=click.Choice(["facility", "eklaim", "bpjs", "admin"]), required=True)
@click.option("--org", default=None, help="the organization (tenant) a facility or eklaim client acts for")
@click.option("--name", default=None, help="a label for the client")
@click.option("--json", "as_json", is_flag=True, help='print {"client_id": ..., "client_secret": ...}')
@_storage
def clients_add(role: str, org: str | None, name: str | None, as_json: bool, data_dir, database_url) -> None:
    """Create a client; its secret is printed once and stored only as a hash.

    Creates the database when there is none yet (a first client before the first `fhirclaim serve`); stderr says
    which data dir and database it used.
    """
    registry = _registry(data_dir, database_url, create=True)
    try:
        client_id, secret = registry.add_client(role, org, name)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        click.echo(f"client_id:     {client_id}\nclient_secret: {secret}\n(the secret is not shown again)")


@clients.command("list")
@_storage
def clients_list(data_dir, database_url) -> None:
    """List clients (never their secrets); stderr says which data dir and database were read."""
    for client in _registry(data_dir, database_url, create=False).list_clients():
        state = "disabled" if client["disabled"] else "active"
        click.echo(f"{client['client_id']}  {client['role']:<8} {client['org'] or '-':<12} {state}  "
                   f"{client['name'] or ''}")


@clients.command("disable")
@click.argument("client_id")
@_storage
def clients_disable(client_id: str, data_dir, database_url) -> None:
    """Disable a client and revoke its tokens."""
    if not _registry(data_dir, database_url, create=False).disable(client_id):
        raise click.ClickException(f"no client {client_id}")
    click.echo(f"disabled {client_id}")


# --- web app users ------------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage the people of a hospital's claim unit who sign in to the web app at /app/."""


@users.command("add")
@click.option("--org", required=True, help="the hospital (organization id) whose claims the user works on")
@click.option("--role", type=click.Choice(["coder", "verifier", "manager"]), required=True)
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@_storage
def users_add(org: str, role: str, username: str, password_stdin: bool, data_dir, database_url) -> None:
    """Add a user; the password (prompted for, or from stdin) is stored only as a slow hash (scrypt)."""
    from fhirclaim.webapp.accounts import AccountError

    password = (sys.stdin.readline().rstrip("\r\n") if password_stdin else
                click.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        user = _accounts(data_dir, database_url, create=True).add(username, password, org=org, role=role)
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added {user.username} ({user.role}, org {user.org})")


@users.command("list")
@_storage
def users_list(data_dir, database_url) -> None:
    """List users (never their password hashes)."""
    for user in _accounts(data_dir, database_url, create=False).list():
        click.echo(f"{user.username:<24} {user.role:<9} {user.org:<12} {'disabled' if user.disabled else 'active'}")


@users.command("disable")
@click.argument("username")
@_storage
def users_disable(username: str, data_dir, database_url) -> None:
    """Disable a user: the next request of any session of theirs is signed out."""
    if not _accounts(data_dir, database_url, create=False).disable(username):
        raise click.ClickException(f"no user {username}")
    click.echo(f"disabled {username}")


@users.command("rebuild-worklist")
@_storage
def users_rebuild_worklist(data_dir, database_url) -> None:
    """Write the web app's worklist line of every stored Claim again (claims stored before the web app existed)."""
    from fhirclaim.bpjs.worklist_projection import rebuild

    registry = _registry(data_dir, database_url, create=False)
    click.echo(f"rebuilt {rebuild(registry.store, _settings().timezone)} worklist lines")


def _accounts(data_dir, database_url, *, create: bool):
    from fhirclaim.webapp.accounts import UserAccounts

    registry = _registry(data_dir, database_url, create=create)
    return UserAccounts(registry.store, registry.throttle)


def _registry(data_dir, database_url, *, create: bool):
    """The client registry on the configured database. Without `create`, a SQLite database that does not exist is
    refused rather than made empty (a command reading clients from the wrong data dir would find none)."""
    from fhirclaim.auth.clients import ClientRegistry
    from fhirclaim.startup import ensure_directory, private_umask
    from fhirclaim.store.db import Database, describe_url, sqlite_path
    from fhirclaim.store.unit_of_work import Store

    settings = _settings(data_dir=data_dir, database_url=database_url)
    directory, url = settings.resolved_data_dir(), settings.resolved_database_url()
    database_file = sqlite_path(url)
    new = database_file is not None and not database_file.exists()
    if new and not create:
        raise StartupError(f"no fhirclaim database at {database_file} (data dir {directory}): point --data-dir / "
                           "FHIRCLAIM_DATA_DIR at the server's data dir, or --database-url / FHIRCLAIM_DATABASE_URL "
                           "at its database")
    if create:
        private_umask()  # the database it may create is this user's alone
        ensure_directory(directory, what="data dir", fix="point --data-dir / FHIRCLAIM_DATA_DIR at a writable "
                                                         "directory")
    database = Database(url, connect_timeout=settings.database_connect_timeout_seconds)
    database.migrate()
    click.echo(f"fhirclaim clients: database {describe_url(url)}{' (new)' if new else ''}, data dir {directory}",
               err=True)
    return ClientRegistry(Store(database))


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="data directory [./fhirclaim-data]")
@click.option("--database-url", default=None, help="SQLAlchemy URL (default: SQLite in the data dir)")
@click.option("--once", is_flag=True, help="run every job that is due now, then exit")
def worker(data_dir: Path | None, database_url: str | None, once: bool) -> None:
    """Run the claim pipeline and webhook delivery workers without the HTTP server, until SIGTERM/SIGINT."""
    from fhirclaim.worker_process import run_workers

    run_workers(_settings(data_dir=data_dir, database_url=database_url), once=once, echo=click.echo)


# --- the sandbox E-Klaim ------------------------------------------------------------------------------------


@main.command("eklaim-emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--key-file", type=click.Path(path_type=Path), default=None, help="file holding the 64-hex key")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("eklaim-emulator-data"), show_default=True)
@click.option("--coder", "coders", multiple=True, metavar="NIK:NAME", help="register a coder (repeatable)")
@click.option("--tariff-table", type=click.Path(exists=True, path_type=Path), default=None,
              help="the hospital's own INA-CBG tariff CSV")
@click.option("--no-debug-mode", is_flag=True, help="refuse ?mode=debug (MODE DEBUG IS NOT ALLOWED)")
@click.option("--protocol", type=click.Choice(["5.10", "5.1"]), default="5.10", show_default=True,
              help="the E-Klaim build to speak: 5.10 (iDRG and INA-CBG coding) or the 2017 5.1")
@click.option("--kode-tarif", default=None, metavar="CODE",
              help="the hospital's tariff class (AP, BP, CS, ...): set_claim_data with another is E2014")
def eklaim_emulator(host, port, key_file, data_dir, coders, tariff_table, no_debug_mode, protocol,
                    kode_tarif) -> None:
    """Serve the E-Klaim emulator standalone at /E-Klaim/ws.php."""
    from fhirclaim.eklaim.emulator.server import serve_emulator

    serve_emulator(host=host, port=port, key_file=key_file, data_dir=data_dir, coders=list(coders),
                   tariff_table=tariff_table, allow_debug=not no_debug_mode, protocol=protocol,
                   kode_tarif=kode_tarif)


@main.group()
def keys() -> None:
    """Generate keys: E-Klaim's; the hospitals' signing keys and certificates (rotate, revoke, outside CA)."""


@keys.command("eklaim")
def keys_eklaim() -> None:
    """Print a fresh 64-hex E-Klaim encryption key."""
    from fhirclaim.eklaim.crypto import generate_key

    click.echo(generate_key())


_DATA_DIR = click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                         help="the server's data directory [FHIRCLAIM_DATA_DIR, else ./fhirclaim-data]")
_ORG = click.option("--org", required=True, help="the hospital (tenant): its Kemkes organization id")


@keys.command("rotate")
@_ORG
@_DATA_DIR
def keys_rotate(org: str, data_dir: Path | None) -> None:
    """A new signing key and certificate for a hospital; old public keys stay in the JWKS (old Bundles verify).
    A running server picks the new key up when it restarts."""
    key = _signing_action(data_dir, lambda signing: signing.rotate(org))
    click.echo(f"{org}: new {key.alg} key {key.kid}, certificate {key.certificate.subject.rfc4514_string()} "
               f"(serial {key.certificate.serial_number:x}) until {key.certificate.not_valid_after_utc:%Y-%m-%d}")


@keys.command("revoke")
@_ORG
@click.option("--reason", default="keyCompromise", show_default=True,
              help="RFC 5280 reason (keyCompromise, superseded, cessationOfOperation, ...)")
@_DATA_DIR
def keys_revoke(org: str, reason: str, data_dir: Path | None) -> None:
    """Revoke a hospital's signing certificate: its signatures from now on fail verification; it gets a new key."""
    entry = _signing_action(data_dir, lambda signing: signing.revoke(org, reason=reason))
    click.echo(f"{org}: certificate {entry['serial']} revoked at {entry['revoked_at']} ({reason}); "
               f"new key {entry['new_kid']}")


@keys.command("csr")
@_ORG
@_DATA_DIR
def keys_csr(org: str, data_dir: Path | None) -> None:
    """Print a certificate signing request (PEM) of a hospital's key, for an outside CA to certify."""
    click.echo(_signing_action(data_dir, lambda signing: signing.csr_pem(org)).decode(), nl=False)


@keys.command("install-certificate")
@_ORG
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DATA_DIR
def keys_install_certificate(org: str, pem_file: Path, data_dir: Path | None) -> None:
    """Sign with a certificate an outside CA issued for `keys csr` (PEM chain, leaf first); add the CA as a trust
    anchor first."""
    key = _signing_action(data_dir, lambda signing: signing.install_certificate(org, pem_file.read_bytes()))
    click.echo(f"{org}: key {key.kid} now signs with {key.certificate.subject.rfc4514_string()} issued by "
               f"{key.certificate.issuer.rfc4514_string()}")


@keys.command("add-trust-anchor")
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DATA_DIR
def keys_add_trust_anchor(pem_file: Path, data_dir: Path | None) -> None:
    """Trust an outside CA certificate (PEM); it is published with the installation's own CA."""
    anchor = _signing_action(data_dir, lambda signing: signing.add_trust_anchor(pem_file.read_bytes()))
    click.echo(f"trust anchor added: {anchor.subject.rfc4514_string()}")


def _signing_action(data_dir: Path | None, action):
    """`action(HospitalSigning)` on the data dir's signing keys; what the user can fix is one `Error:` line."""
    from fhirclaim.signing import HospitalSigning, SigningKeyError

    settings = _settings(data_dir=data_dir)
    passphrase = settings.signing_key_passphrase.encode() if settings.signing_key_passphrase else None
    try:
        signing = HospitalSigning(settings.resolved_data_dir() / "signing", alg=settings.signing_alg,
                                  passphrase=passphrase)
        signing.load()
        return action(signing)
    except (ValueError, SigningKeyError, OSError) as exc:
        raise StartupError(str(exc)) from None


class _GroupCommand(click.Command):
    """`fhirclaim group`: its help ends with where the example input is installed (looked up only for --help)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from importlib import resources

        example = resources.files("fhirclaim.examples") / "group-input.jsonl"
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(f"Example (examples/group-input.jsonl in the repository): fhirclaim group --input "
                                 f"{example}")


@main.command(cls=_GroupCommand)
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path),
              help="JSON lines, one set_claim_data object per line (format above)")
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help="JSON lines of grouper results [stdout]")
@click.option("--tariff-table", type=click.Path(path_type=Path), default=None,
              help="the hospital's own INA-CBG tariffs instead of the packaged ones: CSV with the header "
                   "edition,kode_tarif,cbg_code,kelas,tariff (edition 2016 or 2023, kelas kelas_1..kelas_3, "
                   "tariff in whole rupiah; one row per CBG or top-up group and class; further columns ignored)")
def group(input_path: Path, output_path: Path | None, tariff_table: Path | None) -> None:
    """Group many claims with the INA-CBG grouper emulator (batch grouper).

    \b
    Input: JSON lines, one set_claim_data object per line, with E-Klaim's
    field names and string values, plus the patient's tgl_lahir and gender:
      nomor_sep              copied to the output, to match answers to claims
      tgl_masuk, tgl_pulang  "YYYY-MM-DD hh:mm:ss" (discharge picks the
                             tariff edition)
      tgl_lahir, gender      birth date, same format; 1 male, 2 female
      jenis_rawat            1 inpatient, 2 outpatient
      kelas_rawat            1, 2 or 3
      diagnosa               ICD-10 codes joined by #, principal first
      procedure              ICD-9-CM codes joined by #; "#" for none
      tarif_rs               the hospital's bill in rupiah (15000 or more)
      kode_tarif             the hospital's tariff class: AP, AS, BP, BS, CP,
                             CS, DP, DS, RSCM, RSJP, RSD or RSAB
      discharge_status       1-5 (1: discharged on the doctor's advice)
      optional               icu_los, ventilator_hour, adl_sub_acute,
                             adl_chronic, birth_weight (grams),
                             upgrade_class_ind/_class/_los, add_payment_pct,
                             special_cmg ("RR04#YY01" or a list: stage 2)

    A missing or invalid field gives an error group (X-0-nn-X), as E-Klaim does;
    a line that is not a JSON object is reported on stderr with its number and
    skipped.

    \b
    Output: JSON lines {"line", "nomor_sep", "response", "special_cmg_option",
    "tarif_alt"}, response as E-Klaim's grouper answers it; progress and a
    summary (claims per CMG, error groups, total tariff) go to stderr.
    """
    from fhirclaim.inacbg.batch import run_batch

    run_batch(input_path, output_path, tariff_table=tariff_table)


# --- the demo -----------------------------------------------------------------------------------------------


@main.command()
@click.option("--examples", "examples_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="the example cases [the ones shipped with fhirclaim]")
def demo(examples_dir: Path | None) -> None:
    """Run the whole Klaim BPJS flow for the example cases on an embedded sandbox, step by step; exit 1 when a
    case does not end as examples/expected-results.json documents."""
    from fhirclaim.demo import run_demo

    sys.exit(0 if run_demo(examples_dir) else 1)


# --- signatures ---------------------------------------------------------------------------------------------


@main.command("verify-bundle")
@click.argument("bundle_file", type=click.Path(exists=True, path_type=Path))
@click.option("--trust-anchor", "anchors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM file of CA certificates the signer must chain to, e.g. a server's "
                   "/fhir/.well-known/trust-anchors.pem (repeatable)")
@click.option("--crl", "crls", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a CA's revocation list (PEM or DER), e.g. /fhir/.well-known/signing-crl.pem (repeatable)")
@click.option("--jwks", default=None, metavar="URL|FILE",
              help="trust the keys of this JWK Set instead (also resolves a kid when there is no x5c)")
@click.option("--integrity-only", is_flag=True,
              help="check only that the content is unchanged; the signer stays unproven")
def verify_bundle(bundle_file: Path, anchors: tuple[Path, ...], crls: tuple[Path, ...], jwks: str | None,
                  integrity_only: bool) -> None:
    """Verify a signed Bundle: content unchanged, signer chains to a trust anchor, signer is Signature.who.
    Exit 0 only when all three hold (with --integrity-only: when the content is unchanged), else 1, saying why."""
    from fhirclaim.signing.trust import TrustPolicy
    from fhirclaim.signing.verify import verify_bundle as verify

    try:
        bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
        trust = TrustPolicy.from_pem([path.read_bytes() for path in anchors], [path.read_bytes() for path in crls])
        key_set = _jwks(jwks) if jwks else None
    except (OSError, ValueError) as exc:
        click.echo(f"invalid: cannot read the input: {exc}", err=True)
        sys.exit(1)
    result = verify(bundle, jwks=key_set, trust=trust, integrity_only=integrity_only)
    for finding in result.findings:
        click.echo(f"  {finding.check}: {'yes' if finding.ok else 'NO'} — {finding.text}")
    if result.valid:
        click.echo(f"{'integrity only' if integrity_only else 'valid'}: {result.reason}")
        sys.exit(0)
    click.echo(f"invalid: {result.reason}", err=True)
    sys.exit(1)


def _jwks(location: str) -> dict:
    """A JWK Set from a URL (http/https) or a file."""
    if location.startswith(("http://", "https://")):
        import requests

        try:
            answer = requests.get(location, timeout=10)
            answer.raise_for_status()
            return answer.json()
        except requests.RequestException as exc:
            raise ValueError(f"cannot fetch the JWKS {location}: {exc}") from None
    return json.loads(Path(location).read_text(encoding="utf-8"))


def _settings(**overrides):
    from fhirclaim.config import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


if __name__ == "__main__":  # pragma: no cover
    main()
