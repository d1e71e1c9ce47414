"""Shared parts of the E-Klaim 5.10 emulator tests (imported as `emulator510_kit`): the real answers (Postman
collection of real 5.10 servers, the 5.10 manual's examples), a shape comparison, a caller, and a claim walked to
any step of the 5.10 flow."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from fhirclaim.eklaim import crypto
from fhirclaim.eklaim.emulator import EmulatorApp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eklaim"
POSTMAN = json.loads((FIXTURES / "postman_E-KLAIM_IDRG.postman_collection.json").read_text(encoding="utf-8"))
MANUAL = json.loads((FIXTURES / "eklaim_5.10_manual_examples.json").read_text(encoding="utf-8"))["sections"]
MANUAL_PDF = json.loads((FIXTURES / "eklaim_5.10_manual_pdf_examples.json").read_text(encoding="utf-8"))["sections"]
CODER_NIK = "123123123123"

# Keys of the manual's (newer, Oct 2025) build that the April 2025 servers of the Postman collection did not send
NEWER_BUILD_KEYS = frozenset({"script_version", "logic_version", "cost_weight", "sub_acute_weight", "chronic_weight",
                              "total_cost_weight", "nbr", "status_cd"})
# Keys an answer carries only when the case has them (top-ups, special CMG options, ADL groups)
CASE_KEYS = frozenset({"topup", "topup_options", "special_cmg_option", "special_cmg", "sub_acute", "chronic"})


def postman_item(prefix: str) -> dict[str, Any]:
    return next(item for item in POSTMAN["item"] if item["name"].startswith(prefix))


def postman_answer(prefix: str, outcome: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, answer) of a saved real answer, e.g. ("#07", "FAILED")."""
    item = postman_item(prefix)
    saved = next(answer for answer in item["response"] if answer["name"].endswith(outcome))
    return json.loads(saved["originalRequest"]["body"]["raw"]), json.loads(saved["body"])


def manual_example(section: str, caption: str = "Response") -> dict[str, Any]:
    examples = MANUAL[section]["examples"]
    return copy.deepcopy(next(example["json"] for example in examples if example["caption"] == caption))


def as_list(value: Any) -> Any:
    """PHP writes an array whose keys do not start at 0 as an object ({"1": …, "2": …}): read it as the list."""
    if isinstance(value, Mapping) and value and all(str(key).isdigit() for key in value):
        return list(value.values())
    return value


def assert_same_shape(actual: Any, real: Any, path: str = "$", newer: frozenset[str] = NEWER_BUILD_KEYS) -> None:
    """The same keys (recursively) and value types as the real answer; `newer` keys may be added, CASE_KEYS may
    be on either side; a real null stands for "no value" (null or a string)."""
    real = as_list(real)
    if real is None:
        assert actual is None or isinstance(actual, str), f"{path}: {actual!r} for null"
    elif isinstance(real, Mapping):
        assert isinstance(actual, Mapping), f"{path}: {type(actual).__name__}, real answer has an object"
        missing = set(real) - set(actual) - CASE_KEYS
        extra = set(actual) - set(real) - CASE_KEYS - newer
        assert not missing and not extra, f"{path}: missing {sorted(missing)}, extra {sorted(extra)}"
        for key in set(real) & set(actual):
            assert_same_shape(actual[key], real[key], f"{path}.{key}", newer)
    elif isinstance(real, list):
        assert isinstance(actual, list), f"{path}: {type(actual).__name__}, real answer has a list"
        for index, item in enumerate(actual):  # lists mix forms (a valid code, an IM one): a real item of the form
            if real:
                assert_same_shape(item, _counterpart(item, real, index), f"{path}[{index}]", newer)
    else:
        assert type(actual) is type(real), f"{path}: {actual!r} ({type(actual).__name__}), real {real!r}"


def _counterpart(item: Any, real: list[Any], index: int) -> Any:
    """The real item with the same keys and validity, else the one at the same place."""
    if isinstance(item, Mapping):
        for candidate in real:
            if isinstance(candidate, Mapping) and set(candidate) == set(item) and \
                    candidate.get("validcode") == item.get("validcode"):
                return candidate
    return real[min(index, len(real) - 1)]


class Ws:
    """Calls ws.php: in process (debug mode) or over real HTTP, encrypted, as a SIMRS does."""

    def __init__(self, app: EmulatorApp, key: str, url: str | None = None) -> None:
        self.app, self.key, self.url = app, key, url

    def __call__(self, message: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(message)
        if self.url is None:
            return json.loads(self.app.handle(body.encode("utf-8"), debug=True))
        answer = requests.post(self.url, data=crypto.encrypt(body, self.key), timeout=30)
        assert answer.status_code == 200
        return json.loads(crypto.decrypt(crypto.unarmour(answer.content), self.key))

    def method(self, name: str, metadata: Mapping[str, Any] | None = None, **data: Any) -> dict[str, Any]:
        return self({"metadata": {"method": name, **(metadata or {})}, "data": data})


def with_sep(message: Mapping[str, Any], nomor_sep: str) -> dict[str, Any]:
    """A saved request made to name our claim (metadata and data nomor_sep wherever it had one)."""
    message = copy.deepcopy(dict(message))
    for part in ("metadata", "data"):
        if "nomor_sep" in message.get(part, {}):
            message[part]["nomor_sep"] = nomor_sep
    return message


def claim_data(**changes: Any) -> dict[str, Any]:
    """The Postman collection's set_claim_data (a real, accepted request) as an inpatient stay of four days."""
    request, _ = postman_answer("#01", "SUCCESS")
    data = {**request["data"], "jenis_rawat": "1", "tgl_pulang": "2024-11-12 09:55:00", **changes}
    return data


STEPS = ("new_claim", "set_claim_data", "idrg_coding", "idrg_grouped", "idrg_final", "imported", "inacbg_grouped",
         "inacbg_final", "claim_final", "sent")


def walk(ws: Ws, nomor_sep: str, upto: str, *, diagnosa: str = "S71.0#A00.1",
         procedure: str = "81.52#86.22+5#86.22+3#90.090", gender: str = "2", kode_tarif: str = "AP") -> None:
    """Take a new claim through the 5.10 flow up to and including `upto` (a name of STEPS); every step must pass."""
    calls = {
        "new_claim": lambda: ws.method("new_claim", nomor_sep=nomor_sep, nomor_rm=f"RM-{nomor_sep}",
                                       nama_pasien="PASIEN UJICOBA", tgl_lahir="2000-01-01 02:00:00", gender=gender,
                                       nomor_kartu="0000097208276"),
        "set_claim_data": lambda: ws.method("set_claim_data", {"nomor_sep": nomor_sep},
                                            **{**claim_data(kode_tarif=kode_tarif), "nomor_sep": nomor_sep}),
        "idrg_coding": lambda: (ws.method("idrg_diagnosa_set", {"nomor_sep": nomor_sep}, diagnosa=diagnosa),
                                ws.method("idrg_procedure_set", {"nomor_sep": nomor_sep}, procedure=procedure))[1],
        "idrg_grouped": lambda: ws.method("grouper", {"stage": 1, "grouper": "idrg"}, nomor_sep=nomor_sep),
        "idrg_final": lambda: ws.method("idrg_grouper_final", nomor_sep=nomor_sep),
        "imported": lambda: ws.method("idrg_to_inacbg_import", nomor_sep=nomor_sep),
        "inacbg_grouped": lambda: ws.method("grouper", {"stage": "1", "grouper": "inacbg"}, nomor_sep=nomor_sep),
        "inacbg_final": lambda: ws.method("inacbg_grouper_final", nomor_sep=nomor_sep),
        "claim_final": lambda: ws.method("claim_final", nomor_sep=nomor_sep, coder_nik=CODER_NIK),
        "sent": lambda: ws.method("send_claim_individual", nomor_sep=nomor_sep),
    }
    for step in STEPS[:STEPS.index(upto) + 1]:
        answer = calls[step]()
        assert answer["metadata"]["code"] == 200, (step, answer)
