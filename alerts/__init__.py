"""Keyword alerts: subscriptions, matching new documents against them, notifications that reach staff
exactly once (e-mail, webhook, Atom), digests and spike alerts."""
