"""The interface every channel implements."""

from __future__ import annotations

from typing import Any, ClassVar

from alerts.message import AlertMessage


class ChannelError(Exception):
    """A delivery failed. ``retryable``: trying again later may work (server down, timeout, HTTP 5xx/429);
    otherwise it will not (bad address, HTTP 4xx): the notification is failed at once."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(" ".join(message.split()))
        self.retryable = retryable


class Channel:
    """Delivers :class:`AlertMessage` s to one destination (an address, a URL).

    ``type`` names the channel in a subscription (``{"type": "email", "to": ...}``); ``from_config``
    builds one from that mapping and the settings; ``validate`` checks a mapping when a subscription is
    saved (raises ValueError with a one-line reason); ``send`` delivers or raises :class:`ChannelError`."""

    type: ClassVar[str] = ""

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any], settings: Any) -> Channel:
        raise NotImplementedError

    def describe(self) -> str:
        """Where it delivers, for lists and logs (an address, a URL without its secrets)."""
        raise NotImplementedError

    def send(self, message: AlertMessage) -> None:
        raise NotImplementedError
