"""Webhooks: R4 Subscriptions, the durable outbox and its delivery worker."""
