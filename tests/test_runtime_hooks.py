"""The runtime lists every interceptor and listener of a write once, in the documented order (runtime.py), and
every FHIR service it makes runs exactly those."""

from __future__ import annotations

INTERCEPTORS = ["ClaimServerFields", "SubscriptionSecretInterceptor", "ClaimResponseOrder",
                "PurificationDecisionRules", "PendingAnswerRules"]
LISTENERS = ["AnswerDeletionGuard", "AuditListener", "PipelineTrigger", "DisclosureListener", "WorklistListener",
             "WebhookListener"]


def test_each_hook_is_listed_once_in_order(runtime):
    assert [type(hook).__name__ for hook in runtime.interceptors] == INTERCEPTORS
    assert [type(hook).__name__ for hook in runtime.listeners] == LISTENERS


def test_every_service_runs_the_listed_hooks(runtime):
    with runtime.store.unit_of_work(write=False) as uow:
        client = runtime.fhir_service(uow, author="test")
        server = runtime.services.server(uow, "system:test")
    assert list(client.interceptors) == list(runtime.interceptors) and server.interceptors == ()
    assert list(client.listeners) == list(server.listeners) == list(runtime.listeners)
    assert server.server_authored and not client.server_authored


def test_the_webhook_and_bpjs_hooks_share_the_runtimes_clock(settings):
    from fhirclaim.clock import utc_now
    from fhirclaim.runtime import Runtime

    def clock():
        return utc_now()

    runtime = Runtime(settings, clock=clock)
    try:
        [order] = [i for i in runtime.interceptors if type(i).__name__ == "ClaimResponseOrder"]
        [outbox] = [listener for listener in runtime.listeners if type(listener).__name__ == "WebhookListener"]
        assert order.clock is outbox.clock is runtime.webhook_worker.clock is clock
    finally:
        runtime.close()
