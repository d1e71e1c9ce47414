"""Round-trip time of every E-Klaim ws.php method against the emulator: prints figures, asserts nothing.

    python benchmarks/eklaim_roundtrip.py [--n 200] [--n-bulk 20] [--database-url URL] [--no-http] [--no-inprocess]

Each method is called N times through the project's client — encrypt, POST, emulator (SQLite file in a temporary
directory, the INA-CBG grouper emulator), encrypt the answer, decrypt — over HTTP to waitress on a local port (as
`fhirclaim eklaim-emulator` serves it) and in process (the WSGI app called directly). Every call works on its own
claim (SEP-0 … SEP-N-1, the manual's set_claim_data example), so writes really write. The collective methods
(send_claim, pull_claim) export the whole day's N claims per call and are called --n-bulk times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from waitress import create_server

from fhirclaim.eklaim import (
    ClaimDataUpdate,
    EKlaimClient,
    HttpTransport,
    InProcessTransport,
    NewClaim,
    PatientUpdate,
    crypto,
)
from fhirclaim.eklaim.emulator import EmulatorApp, EmulatorConfig, create_emulator_app

CODER = "123123123123"
CLAIM = {"nomor_kartu": "233333", "tgl_masuk": "2016-10-26 12:55:00",
         "jenis_rawat": "1", "kelas_rawat": "1", "adl_sub_acute": "15", "adl_chronic": "12", "icu_indikator": "1",
         "icu_los": "2", "ventilator_hour": "5", "upgrade_class_ind": "1", "upgrade_class_class": "vip",
         "upgrade_class_los": "5", "add_payment_pct": "35", "birth_weight": "0", "discharge_status": "1",
         "diagnosa": "S71.0#A00.1", "procedure": "81.52#88.38", "tarif_rs": "80000000", "tarif_poli_eks": "100000",
         "nama_dokter": "RUDY, DR", "kode_tarif": "AP", "payor_id": "3", "payor_cd": "JKN"}


def timed(label: str, calls: list[Callable[[], object]], results: dict[str, list[float]]) -> None:
    durations = []
    for call in calls:
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    results[label] = durations


def scenario(client: EKlaimClient, app: EmulatorApp, n: int, n_bulk: int, prefix: str, day: str
             ) -> dict[str, list[float]]:
    """Every method, in the order a claim lives; each timed call on its own claim, all discharged on `day`."""
    seps = [f"{prefix}SEP-{i}" for i in range(n)]
    claim = {**CLAIM, "tgl_pulang": f"{day} 13:55:00"}
    results: dict[str, list[float]] = {}
    timed("new_claim", [lambda s=s: client.new_claim(
        NewClaim(nomor_sep=s, nomor_rm=f"RM-{s}", nama_pasien="NAMA TEST PASIEN", tgl_lahir="1940-01-01 02:00:00",
                 gender=2, nomor_kartu="0000668870001")) for s in seps], results)
    timed("update_patient", [lambda s=s: client.update_patient(f"RM-{s}", PatientUpdate(nomor_kartu="0000668800001"))
                             for s in seps], results)
    timed("set_claim_data", [lambda s=s: client.set_claim_data(s, ClaimDataUpdate(coder_nik=CODER, **claim))
                             for s in seps], results)
    timed("grouper stage 1", [lambda s=s: client.grouper(s) for s in seps], results)
    options = [option.code for option in client.grouper(seps[0]).special_cmg_option]
    if options:
        timed("grouper stage 2", [lambda s=s: client.grouper(s, options) for s in seps], results)
    timed("claim_final", [lambda s=s: client.claim_final(s, CODER) for s in seps], results)
    timed("get_claim_data", [lambda s=s: client.get_claim_data(s) for s in seps], results)
    for sep in seps:
        app.set_bpjs_claim_status(sep, "40", "40_Proses_Cabang")
    timed("get_claim_status", [lambda s=s: client.get_claim_status(s) for s in seps], results)
    timed("claim_print", [lambda s=s: client.claim_print(s) for s in seps], results)
    timed("reedit_claim", [lambda s=s: client.reedit_claim(s) for s in seps], results)
    for sep in seps:
        client.claim_final(sep, CODER)
    timed(f"pull_claim ({n} rows)", [lambda: client.pull_claim(day, day, 1)] * n_bulk, results)
    timed("send_claim_individual", [lambda s=s: client.send_claim_individual(s) for s in seps], results)
    timed(f"send_claim ({n} claims)", [lambda: client.send_claim(day, day, 1)] * n_bulk, results)
    doomed = [f"{prefix}DEL-{i}" for i in range(n)]
    for sep in doomed:
        client.new_claim(NewClaim(nomor_sep=sep, nomor_rm=f"RM-{sep}", nama_pasien="X", tgl_lahir="1950-01-01",
                                  gender=1))
    timed("delete_claim", [lambda s=s: client.delete_claim(s, CODER) for s in doomed], results)
    timed("delete_patient", [lambda s=s: client.delete_patient(f"RM-{s}", CODER) for s in doomed], results)
    return results


def print_table(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'method':<26}{'calls':>6}{'median ms':>12}{'p99 ms':>10}")
    for label, durations in results.items():
        ordered = sorted(durations)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  {label:<26}{len(durations):>6}{statistics.median(durations) * 1e3:>12.2f}{p99 * 1e3:>10.2f}")


def crypto_figures(key: str, rounds: int = 2000) -> None:
    plaintext = ('{"metadata":{"method":"set_claim_data","nomor_sep":"SEP"},"data":' + str(CLAIM) + "}").encode()
    started = time.perf_counter()
    for _ in range(rounds):
        crypto.decrypt(crypto.encrypt(plaintext, key), key)
    per_pair = (time.perf_counter() - started) / rounds
    print(f"\ncrypto: encrypt+decrypt of a {len(plaintext)}-byte set_claim_data payload: {per_pair * 1e6:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="calls per method (one claim each)")
    parser.add_argument("--n-bulk", type=int, default=20, help="calls of send_claim / pull_claim")
    parser.add_argument("--database-url", default=None, help="emulator store (default: SQLite file in a temp dir)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-inprocess", action="store_true")
    args = parser.parse_args()
    key = crypto.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'eklaim-bench.db'}"
        started = time.perf_counter()
        app = create_emulator_app(EmulatorConfig(key_hex=key, database_url=url, coders=[(CODER, "INACBG")],
                                                   protocol="5.1"))
        print(f"emulator ready in {time.perf_counter() - started:.2f} s (grouper {app.environment.grouper.version}); "
              f"store {url.split('://')[0]}; n={args.n}, n_bulk={args.n_bulk}")
        if not args.no_http:
            server = create_server(app, host="127.0.0.1", port=0, threads=4)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            transport = HttpTransport(f"http://127.0.0.1:{server.effective_port}/E-Klaim/ws.php", timeout=30)
            print_table("over HTTP (requests → waitress, keep-alive)",
                        scenario(EKlaimClient(transport, key), app, args.n, args.n_bulk, "H", "2016-12-18"))
            transport.close()  # the server thread is a daemon: it ends with the process
        if not args.no_inprocess:
            print_table("in process (InProcessTransport → WSGI app)",
                        scenario(EKlaimClient(InProcessTransport(app), key), app, args.n, args.n_bulk, "P",
                                 "2016-12-19"))
        crypto_figures(key)
        app.close()


if __name__ == "__main__":
    main()
