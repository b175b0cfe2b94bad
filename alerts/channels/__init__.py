"""Delivery channels: small classes behind one interface (:class:`alerts.channels.base.Channel`).

Another channel is one module here with a ``Channel`` subclass registered in ``CHANNELS``::

    from alerts.channels import build, validate
    config = validate({"type": "email", "to": "an@example.vn"})   # when a subscription is saved
    build(config, settings).send(message)                          # raises ChannelError on failure
"""

from __future__ import annotations

from typing import Any

from alerts.channels.base import Channel, ChannelError
from alerts.channels.email import EmailChannel
from alerts.channels.webhook import WebhookChannel

CHANNELS: dict[str, type[Channel]] = {
    EmailChannel.type: EmailChannel,
    WebhookChannel.type: WebhookChannel,
}

__all__ = ["CHANNELS", "Channel", "ChannelError", "EmailChannel", "WebhookChannel", "build", "validate"]


def _channel_class(config: Any) -> type[Channel]:
    if not isinstance(config, dict):
        raise ValueError(f"a channel is a mapping with a 'type' ({', '.join(CHANNELS)}), not {type(config).__name__}")
    kind = config.get("type")
    if kind not in CHANNELS:
        raise ValueError(f"unknown channel type {kind!r}; known: {', '.join(CHANNELS)}")
    return CHANNELS[kind]


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """The channel mapping checked and normalised by its channel class; ValueError with a one-line reason."""
    return _channel_class(config).validate(config)


def build(config: dict[str, Any], settings: Any) -> Channel:
    """The channel a mapping describes, configured from ``settings`` (``settings.alerts``)."""
    return _channel_class(config).from_config(config, settings)
