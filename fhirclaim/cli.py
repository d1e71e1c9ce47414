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


def _registry(data_dir, database_url, *, create: bool):
    """The client registry on the configured database. Without `create`, a SQLite database that does not exist is
    refused rather than made empty (a command reading clients from the wrong data dir would find none)."""
    from fhirclaim.auth.clients import ClientRegistry
    from fhirclaim.startup import ensure_directory
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
def eklaim_emulator(host, port, key_file, data_dir, coders, tariff_table, no_debug_mode) -> None:
    """Serve the E-Klaim emulator standalone at /E-Klaim/ws.php."""
    from fhirclaim.eklaim.emulator.server import serve_emulator

    serve_emulator(host=host, port=port, key_file=key_file, data_dir=data_dir, coders=list(coders),
                   tariff_table=tariff_table, allow_debug=not no_debug_mode)


@main.group()
def keys() -> None:
    """Generate keys."""


@keys.command("eklaim")
def keys_eklaim() -> None:
    """Print a fresh 64-hex E-Klaim encryption key."""
    from fhirclaim.eklaim.crypto import generate_key

    click.echo(generate_key())


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
@click.option("--jwks", type=click.Path(exists=True, path_type=Path), default=None,
              help="JWKS file to resolve a kid when the header carries no x5c")
def verify_bundle(bundle_file: Path, jwks: Path | None) -> None:
    """Verify a signed Bundle; exit 0 when valid, 1 when not (and say why)."""
    from fhirclaim.signing.verify import verify_bundle as verify

    try:
        bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        click.echo(f"invalid: cannot read {bundle_file}: {exc}", err=True)
        sys.exit(1)
    key_set = json.loads(jwks.read_text(encoding="utf-8")) if jwks else None
    result = verify(bundle, jwks=key_set)
    if result.valid:
        click.echo(f"valid: {result.reason}")
        sys.exit(0)
    click.echo(f"invalid: {result.reason}", err=True)
    sys.exit(1)


def _settings(**overrides):
    from fhirclaim.config import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


if __name__ == "__main__":  # pragma: no cover
    main()
