"""Helpers of the web app's tests: users, sign-in through the real form (CSRF token and all), the example cases."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

HOSPITAL = "10000004"  # testkit.HOSPITAL: the examples' hospital
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "kata-sandi-rahasia-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def example(case: str, *, without_special_cmg: bool = False, file: str = "transaction.json") -> dict:
    """An example case's transaction Bundle (`file`: another of its Bundles, e.g. 06's earlier episode); optionally
    its Claim without the special-CMG choice (so E-Klaim's options wait for the hospital)."""
    bundle = json.loads((EXAMPLES / case / file).read_text(encoding="utf-8"))
    if without_special_cmg:
        bundle = copy.deepcopy(bundle)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Claim":
                resource["supportingInfo"] = [i for i in resource["supportingInfo"]
                                              if i["category"]["coding"][0]["code"] != "special-cmg"]
    return bundle


def add_user(runtime, username: str = "ani", role: str = "manager", org: str = HOSPITAL):
    from fhirclaim.webapp.accounts import UserAccounts

    return UserAccounts(runtime.store, runtime.clients.throttle).add(username, PASSWORD, org=org, role=role)


def csrf(client, path: str = "/app/login") -> str:
    page = client.get(path)
    return CSRF.search(page.get_data(as_text=True)).group(1)


def sign_in(client, username: str = "ani", password: str = PASSWORD, address: str = "10.0.0.5"):
    token = csrf(client)
    return client.post("/app/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def run_pipeline(runtime) -> None:
    while runtime.pipeline.run_next("test") is not None:
        pass
