"""A keyword-alert subscription: who it is for, what it matches, how and when it reaches them.

A subscription is checked in full before it is saved (:func:`new_subscription`, :func:`check`): the
query parses, every filter value can match, every channel's address or URL is well formed, the daily
time and the zone exist. Anything wrong is one :class:`~mediawatch.errors.UserError` line, and nothing
is saved.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts import channels
from index.query import parse
from mediawatch.config import check_timezone
from mediawatch.errors import UserError

Delivery = Literal["instant", "hourly", "daily"]
KINDS = ("news", "forum")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Filters(BaseModel):
    """Narrow a subscription as ``mediawatch search`` filters do (empty: no restriction)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = []
    kinds: list[str] = []
    languages: list[str] = []
    topics: list[str] = []
    sentiments: list[str] = []


class Spike(BaseModel):
    """Notify when today's matching volume rises to ``factor`` × the median day of the last
    ``window_days`` days, and to at least ``min_count`` documents."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    factor: float = Field(default=3.0, gt=1, le=100, allow_inf_nan=False)
    min_count: int = Field(default=5, ge=1, le=100_000)
    window_days: int = Field(default=14, ge=3, le=90)


class Subscription(BaseModel):
    """As stored in ``<prefix>-subscriptions``."""

    model_config = ConfigDict(extra="ignore")

    id: str
    owner: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    query: str
    filters: Filters = Field(default_factory=Filters)
    delivery: Delivery = "instant"
    daily_at: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    channels: list[dict[str, Any]] = []
    active: bool = True
    notify_copies: bool = False  # False: a syndicated copy of a story already notified is "+N outlets"
    spike: Spike = Field(default_factory=Spike)
    secret: str = ""
    feed_token: str = ""
    created: datetime
    updated: datetime
    last_digest: datetime | None = None
    last_spike_check: datetime | None = None
    channel_health: dict[str, dict[str, Any]] = {}

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # QuerySyntaxError, one line with the position
        return value

    @field_validator("daily_at")
    @classmethod
    def _hh_mm(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _HHMM.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 07:30")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [channels.validate(dict(config)) for config in value]

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def failing_channels(self) -> list[str]:
        """Channels flagged as failing (see :func:`alerts.service.record_health`)."""
        return [key for key, health in self.channel_health.items() if health.get("failing")]


def channel_key(config: dict[str, Any]) -> str:
    """A stable name for one channel of a subscription, safe to show and log: ``email:a@b.vn``, or
    ``webhook:https://hooks.example/…#1a2b3c`` (chat webhook URLs carry their token: only the host and
    first path segment are shown, plus a short hash that tells two URLs of one host apart)."""
    if config.get("type") == "email":
        return f"email:{config.get('to', '')}"
    from alerts.channels.webhook import redact

    url = str(config.get("url", ""))
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:6]
    return f"{config.get('type')}:{redact(url)}#{digest}"


def new_subscription(
    *,
    owner: str,
    name: str,
    query: str,
    filters: Filters | None = None,
    delivery: Delivery = "instant",
    daily_at: str | None = None,
    timezone: str,
    channel_configs: Sequence[dict[str, Any]] = (),
    notify_copies: bool = False,
    spike: Spike | None = None,
    now: datetime | None = None,
) -> Subscription:
    """A checked subscription with fresh id, webhook secret and feed token (not yet saved)."""
    now = now or datetime.now(UTC)
    data = {
        "id": uuid.uuid4().hex, "owner": owner, "name": name, "query": query,
        "filters": (filters or Filters()).model_dump(), "delivery": delivery,
        "daily_at": daily_at if delivery == "daily" else None, "timezone": timezone,
        "channels": [dict(c) for c in channel_configs], "notify_copies": notify_copies,
        "spike": (spike or Spike()).model_dump(), "created": now, "updated": now,
        "secret": secrets.token_hex(32), "feed_token": secrets.token_urlsafe(24),
    }
    if delivery == "daily" and not daily_at:
        raise UserError("a daily digest needs its time of day: --daily HH:MM")
    return parse_subscription(data)


def parse_subscription(data: dict[str, Any]) -> Subscription:
    """Build a Subscription, turning the first problem into one UserError line (exit 2)."""
    try:
        return Subscription.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "subscription"
        message = str(err.get("ctx", {}).get("error") or err["msg"]).removeprefix("Value error, ")
        raise UserError(f"invalid alert {where}: {message}", exit_code=2) from None


def check_filters(
    filters: Filters,
    *,
    known_sources: Collection[str] | None,
    topics: Collection[str] | None,
    sentiments: Collection[str],
) -> None:
    """Refuse filter values that can never match, listing the valid ones (one UserError line, exit 2)."""
    checks: list[tuple[str, list[str], Collection[str] | None]] = [
        ("source", filters.sources, known_sources),
        ("kind", filters.kinds, KINDS),
        ("topic", filters.topics, topics),
        ("sentiment", filters.sentiments, sentiments),
    ]
    for label, values, valid in checks:
        if valid is None:
            continue
        unknown = [v for v in values if v not in valid]
        if unknown:
            raise UserError(f"unknown {label} {unknown[0]!r}; valid: {', '.join(sorted(valid))}", exit_code=2)
    bad = [code for code in filters.languages if not (len(code) == 2 and code.isascii() and code.isalpha())
           and code != "unknown"]
    if bad:
        raise UserError(f"{bad[0]!r} is not a language code such as vi or en", exit_code=2)
