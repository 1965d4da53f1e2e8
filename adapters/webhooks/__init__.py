"""Webhooks: subscriptions, their signed delivery, and the process that delivers them."""
