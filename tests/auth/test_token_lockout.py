"""The token endpoint under a guessing attack (issue 13, part 3): a guesser slows down only itself, parallel guesses
get exactly the cap of evaluations, unknown client ids are capped per address, and X-Forwarded-For counts only
from a trusted proxy. The clock is injected: waits pass by moving it."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from fhirclaim.auth.clients import AuthError
from fhirclaim.auth.throttle import CAP

from testkit import HOSPITAL

ATTACKER, OWNER = "198.51.100.66", "203.0.113.7"


@pytest.fixture
def credentials(runtime):
    return runtime.clients.add_client("facility", HOSPITAL, "SIMRS")


def _token(app, client_id, secret, address, headers=None):
    return app.test_client().post("/oauth2/v1/accesstoken?grant_type=client_credentials",
                                  data={"client_id": client_id, "client_secret": secret}, headers=headers or {},
                                  environ_base={"REMOTE_ADDR": address})


def test_a_guesser_elsewhere_never_delays_the_owner(app, credentials, clock):
    """A wrong secret every 100 ms for 30 s from one address; the owner asks once a second from another."""
    client_id, secret = credentials
    attacker, owner = Counter(), Counter()
    for tick in range(300):
        attacker[_token(app, client_id, "guess", ATTACKER).status_code] += 1
        if tick % 10 == 0:
            owner[_token(app, client_id, secret, OWNER).status_code] += 1
        clock.advance(0.1)
    assert owner == {200: 30}
    # the attacker's secret checks: 3 at once, then one after each wait of 1, 2, 4, 8 s (the next is at 31.2 s)
    assert attacker[401] == 7 and attacker[429] == 293
    print(f"\nguessing attack, 30 s: attacker {dict(attacker)}, owner {dict(owner)}")


def test_parallel_guesses_get_exactly_the_cap_of_evaluations(runtime, credentials, clock):
    """All 48 within the first wait (the clock stands still): exactly the cap of secret checks, however the
    threads interleave."""
    client_id, _ = credentials

    def guess(_):
        try:
            runtime.clients.request_token(client_id, "guess", ATTACKER)
        except AuthError as refused:
            return refused.error
        return "issued"

    with ThreadPoolExecutor(max_workers=48) as pool:
        outcomes = Counter(pool.map(guess, range(48)))
    assert outcomes == {"invalid_client": CAP, "slow_down": 48 - CAP}


def test_unknown_client_ids_are_capped_per_address(app, credentials, clock):
    client_id, secret = credentials
    statuses = [_token(app, f"ghost-{n}", "guess", ATTACKER).status_code for n in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]  # every unknown id shares the address's cap
    assert _token(app, "ghost-new", "guess", OWNER).status_code == 401  # another address has its own
    assert _token(app, client_id, secret, ATTACKER).status_code == 200  # a known client's pair is apart
    assert _token(app, "x" * 5000, "guess", ATTACKER).status_code == 429  # a huge id is just another unknown one


def test_a_success_clears_and_a_quiet_key_is_forgotten(app, credentials, clock):
    client_id, secret = credentials
    for _ in range(2):
        assert _token(app, client_id, "typo", OWNER).status_code == 401
    assert _token(app, client_id, secret, OWNER).status_code == 200  # within the cap: the typos are forgotten
    for _ in range(3):
        assert _token(app, client_id, "typo", OWNER).status_code == 401
    clock.advance(16 * 60)  # quiet for longer than FORGET_AFTER: back to three free evaluations
    assert [_token(app, client_id, "typo", OWNER).status_code for _ in range(4)] == [401, 401, 401, 429]


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"trusted_proxies": "10.0.0.1/32"})


def test_forwarded_for_counts_only_from_a_trusted_proxy(app, credentials, clock):
    client_id, secret = credentials
    proxy, stranger = "10.0.0.1", "192.0.2.50"
    for _ in range(3):  # behind the proxy, the attacker's own address is what is counted
        assert _token(app, client_id, "guess", proxy, {"X-Forwarded-For": ATTACKER}).status_code == 401
    assert _token(app, client_id, "guess", proxy, {"X-Forwarded-For": ATTACKER}).status_code == 429
    assert _token(app, client_id, secret, proxy, {"X-Forwarded-For": OWNER}).status_code == 200
    # a forged entry to the left of what the proxy appended changes nothing
    forged = {"X-Forwarded-For": f"{OWNER}, {ATTACKER}"}
    assert _token(app, client_id, "guess", proxy, forged).status_code == 429
    # from an untrusted peer the header is ignored: it cannot pick a fresh address for each guess
    statuses = [_token(app, client_id, "guess", stranger, {"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


@pytest.mark.parametrize(("name", "value"), [("FHIRCLAIM_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
                                             ("FHIRCLAIM_WEBHOOK_ALLOWED_HOSTS", "bad host!")])
def test_a_malformed_address_setting_is_one_startup_error(monkeypatch, name, value):
    from fhirclaim.config import load_settings
    from fhirclaim.startup import StartupError

    monkeypatch.setenv(name, value)
    with pytest.raises(StartupError, match=f"invalid setting {name}"):
        load_settings()
