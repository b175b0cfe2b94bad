"""Webhooks: one signed HTTP POST per notification, as mediawatch's JSON or as a chat tool's message.

Config: ``{"type": "webhook", "url": "https://…", "template": "json", "secret": "…"}``. ``template`` is one
of :data:`TEMPLATES` (default ``json``); ``secret`` is the subscription's own signing secret (the
subscription store generates it; a ``json`` webhook without one fails, unsent; chat templates are signed
when there is one). Chat tools that accept incoming webhooks
get their own message shape, in Vietnamese, titles as links, hits in the tool's bold:
``slack``, ``discord``, ``teams`` (an Adaptive Card for a Teams Workflows webhook), ``google_chat``,
``mattermost``.

Request: ``POST`` with ``Content-Type: application/json``, the body UTF-8 JSON (for ``json``:
:meth:`AlertMessage.to_json`) and the headers

- ``X-Mediawatch-Notification-Id``: the notification's stable id (the same on a re-send: drop repeats);
- ``X-Mediawatch-Timestamp``: when it was sent, in unix seconds;
- ``X-Mediawatch-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the secret (UTF-8), of
  ``f"{timestamp}.".encode() + raw_body`` — the body exactly as received, before any JSON parsing.

A receiver recomputes the signature over the timestamp header and the raw body, compares in constant
time, and refuses timestamps more than a few minutes from its clock (a captured request cannot be
replayed later): :func:`verify_signature` does all three. Each attempt is signed afresh, so a retry
carries a new timestamp and signature but the same notification id and body.

Failures raise :class:`ChannelError`: no connection, a timeout (``alerts.webhook_timeout``, per connect
and per read), HTTP 5xx, 408 and 429 are retryable; other 4xx are not. Redirects are followed (up to 3,
re-sending the same POST) only to the same host, never from https to http; a redirect elsewhere fails
without a retry.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from alerts.channels.base import Channel, ChannelError
from alerts.channels.email import (
    connection_error,
    copies_label,
    heading,
    item_meta,
    message_links,
    message_total,
    one_line,
    snippet_segments,
    summary,
)
from alerts.message import AlertMessage

SIGNATURE_HEADER = "X-Mediawatch-Signature"
TIMESTAMP_HEADER = "X-Mediawatch-Timestamp"
NOTIFICATION_HEADER = "X-Mediawatch-Notification-Id"
USER_AGENT = "mediawatch-webhook/1"
MAX_REDIRECTS = 3
SNIPPET_CHARS = 300  # a chat message shows at most this much of each snippet
CARD_ITEMS = 20  # a Teams card lists at most this many documents


# --------------------------------------------------------------------------------------------- signature


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``f"{timestamp}.".encode() + body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: int | str,
    body: bytes | str,
    signature: str,
    *,
    tolerance: float = 300,
    now: float | datetime | None = None,
) -> bool:
    """True when ``signature`` (the ``X-Mediawatch-Signature`` header) signs ``body`` at ``timestamp`` (the
    ``X-Mediawatch-Timestamp`` header) with ``secret``, and ``timestamp`` is within ``tolerance`` seconds of
    ``now`` (default: the clock). ``body`` is the raw request body; the comparison is constant-time."""
    try:
        stamp = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - stamp) > tolerance:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = sign(secret, stamp, raw)
    return hmac.compare_digest(expected.encode("ascii"), str(signature).strip().encode("utf-8"))


# --------------------------------------------------------------------------------------------- chat text


@dataclass(frozen=True)
class ChatStyle:
    """How one chat tool writes text: escaping, bold, links, and how long a message may be."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]
    limit: int


def _url_part(url: str) -> str:
    """A URL safe inside a chat link: characters that would end the link percent-encoded."""
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


def _markdown_escape(text: str) -> str:
    """Backslash before Markdown punctuation (CommonMark, and Discord's parser, read it as a literal)."""
    return re.sub(r"([\\`*_~\[\]()<>|#])", r"\\\1", text)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bold(mark: str) -> Callable[[str], str]:
    return lambda text: f"{mark}{text.strip()}{mark}" if text.strip() else text


SLACK = ChatStyle(_slack_escape, _bold("*"), lambda text, url: f"<{_url_part(url)}|{_slack_escape(text)}>", 3500)
GOOGLE_CHAT = ChatStyle(
    lambda text: text,
    _bold("*"),
    lambda text, url: f"<{_url_part(url)}|{text.replace('|', '¦').replace('>', '›').replace('<', '‹')}>",
    4000,
)
DISCORD = ChatStyle(_markdown_escape, _bold("**"), lambda text, url: f"[{_markdown_escape(text)}]({_url_part(url)})",
                    2000)


def _mattermost_escape(text: str) -> str:
    """Markdown escapes, and "@" + zero-width space: a document quoting "@all" must not notify the channel."""
    return _markdown_escape(text).replace("@", "@\u200b")


MATTERMOST = ChatStyle(_mattermost_escape, _bold("**"),
                       lambda text, url: f"[{_mattermost_escape(text)}]({_url_part(url)})", 4000)
TEAMS = ChatStyle(lambda text: text, _bold("**"),
                  lambda text, url: f"[{text.replace('[', '(').replace(']', ')')}]({_url_part(url)})", 20000)


def chat_snippet(snippet: str, style: ChatStyle, limit: int = SNIPPET_CHARS) -> str:
    """The snippet in the tool's syntax, hits in bold, cut after about ``limit`` characters."""
    out, used = [], 0
    for text, marked in snippet_segments(snippet):
        if used + len(text) > limit:
            text = text[: max(0, limit - used)].rstrip() + "…"
            marked = marked and len(text) > 1
        used += len(text)
        out.append(style.bold(style.escape(text)) if marked else style.escape(text))
        if used >= limit:
            break
    return "".join(out)


def _item_block(message: AlertMessage, index: int, style: ChatStyle) -> str:
    item = message.items[index]
    title = one_line(item.title) or item.url
    line = style.link(title, item.url) if item.url.startswith(("http://", "https://")) else style.escape(title)
    meta = " · ".join(filter(None, [*item_meta(item, message.timezone), copies_label(item)]))
    lines = [f"• {line}", style.escape(meta)]
    snippet = chat_snippet(item.snippet, style)
    if snippet:
        lines.append(snippet)
    return "\n".join(lines)


def spike_lines(message: AlertMessage) -> list[str]:
    """What drives a spike, one line each (sources, stories, terms); empty for other messages."""
    if message.kind != "spike" or not message.spike:
        return []
    s, lines = message.spike, []
    if s.sources:
        lines.append("Nguồn đăng nhiều nhất: " + ", ".join(f"{one_line(n)} ({c})" for n, c in s.sources[:5]))
    if s.stories:
        lines.append("Câu chuyện nổi bật: " + "; ".join(f"{one_line(t, 120)} ({c})" for t, c in s.stories[:3]))
    if s.terms:
        lines.append("Từ ngữ nổi lên: " + ", ".join(one_line(t) for t in s.terms[:10]))
    return lines


def _head_lines(message: AlertMessage, style: ChatStyle) -> list[str]:
    lines = [style.bold(style.escape(heading(message)))]
    lines += [style.escape(line) for line in summary(message)]
    lines.append(style.escape(f"Truy vấn: {one_line(message.query)}"))
    return lines + [style.escape(line) for line in spike_lines(message)]


def chat_text(message: AlertMessage, style: ChatStyle) -> str:
    """The whole message as one chat text within ``style.limit``: heading, summary, documents (as many as
    fit; the rest counted), links."""
    head = "\n".join(_head_lines(message, style))
    links = " · ".join(style.link(label, url) for _, label, url in message_links(message))
    reserve = len(links) + 60
    blocks: list[str] = []
    used = len(head)
    for index in range(len(message.items)):
        block = _item_block(message, index, style)
        if used + len(block) + 2 + reserve > style.limit:
            break
        blocks.append(block)
        used += len(block) + 2
    parts = [head, *blocks]
    rest = message_total(message) - len(blocks)
    # A digest's summary already says how many of how many it lists; say more only when some did not fit.
    if rest > 0 and (len(blocks) < len(message.items) or message.kind != "digest" and message.items):
        parts.append(style.escape(f"… và {rest} bài khác."))
    if links:
        parts.append(links)
    text = "\n\n".join(parts)
    return text if len(text) <= style.limit else text[: style.limit - 1] + "…"


# --------------------------------------------------------------------------------------------- templates


def json_payload(message: AlertMessage) -> dict[str, Any]:
    """mediawatch's own JSON (:meth:`AlertMessage.to_json`)."""
    return message.to_json()


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """Slack incoming webhook: ``text`` in mrkdwn (``<url|title>``, ``*bold*``), link previews off."""
    return {"text": chat_text(message, SLACK), "mrkdwn": True, "unfurl_links": False, "unfurl_media": False}


def discord_payload(message: AlertMessage) -> dict[str, Any]:
    """Discord webhook: ``content`` in Markdown (at most 2000 characters), no mentions, no link embeds."""
    return {"content": chat_text(message, DISCORD), "allowed_mentions": {"parse": []}, "flags": 4}


def google_chat_payload(message: AlertMessage) -> dict[str, Any]:
    """Google Chat incoming webhook: ``text`` in Chat markup (``<url|title>``, ``*bold*``)."""
    return {"text": chat_text(message, GOOGLE_CHAT)}


def mattermost_payload(message: AlertMessage) -> dict[str, Any]:
    """Mattermost incoming webhook: ``text`` in Markdown."""
    return {"text": chat_text(message, MATTERMOST)}


def teams_payload(message: AlertMessage) -> dict[str, Any]:
    """Microsoft Teams (Workflows "post to a channel when a webhook request is received"): a message with
    one Adaptive Card 1.4: heading, summary, each document's linked title, source line and snippet, and the
    message's links as buttons."""
    style = TEAMS

    def block(text: str, **extra: Any) -> dict[str, Any]:
        return {"type": "TextBlock", "text": text, "wrap": True, **extra}

    body = [block(heading(message), weight="Bolder", size="Medium")]
    body += [block(line, spacing="Small") for line in summary(message)]
    body += [block(f"Truy vấn: {one_line(message.query)}", isSubtle=True, spacing="Small")]
    body += [block(line, spacing="Small") for line in spike_lines(message)]
    for item in message.items[:CARD_ITEMS]:
        title = one_line(item.title) or item.url
        meta = " · ".join(filter(None, [*item_meta(item, message.timezone), copies_label(item)]))
        body.append(block(style.link(title, item.url), weight="Bolder", separator=True, spacing="Medium"))
        body.append(block(meta, isSubtle=True, size="Small", spacing="None"))
        snippet = chat_snippet(item.snippet, style)
        if snippet:
            body.append(block(snippet, spacing="Small"))
    rest = message_total(message) - min(len(message.items), CARD_ITEMS)
    if rest > 0 and (len(message.items) > CARD_ITEMS or message.kind != "digest" and message.items):
        body.append(block(f"… và {rest} bài khác.", isSubtle=True))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for _, label, url in message_links(message)]
    if actions:
        card["actions"] = actions
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


# A template turns a message into the JSON a receiver expects; another tool is one function and one line here.
TEMPLATES: dict[str, Callable[[AlertMessage], dict[str, Any]]] = {
    "json": json_payload,
    "slack": slack_payload,
    "discord": discord_payload,
    "teams": teams_payload,
    "google_chat": google_chat_payload,
    "mattermost": mattermost_payload,
}


# --------------------------------------------------------------------------------------------- channel


def check_url(value: Any) -> str:
    """The URL stripped, when it is an http(s) URL with a host; ValueError with a one-line reason."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("webhook URL is missing")
    text = value.strip()
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise ValueError(f"webhook URL {one_line(text)!r} contains spaces or line breaks")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        got = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise ValueError(f"webhook URL must start with http:// or https:// (got {got})")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError(f"webhook URL {text!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"webhook URL {text!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("webhook URL must not carry a user name or password (the signature authenticates it)")
    return text


def redact(url: str) -> str:
    """The URL without what may be secret (chat webhook URLs carry their token in the path or query):
    scheme, host, port and the first path segment."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    path = f"/{segments[0]}" if segments else "/"
    if len(segments) > 1 or parts.query:
        path += "/…"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand every redirect back as an HTTPError: :meth:`WebhookChannel.send` decides (same host only, and it
    re-sends the POST with its body, which urllib would turn into a bodyless GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookChannel(Channel):
    """POSTs each notification, signed, to one URL in one template's shape."""

    type = "webhook"

    def __init__(self, url: str, *, template: str = "json", secret: str | None = None, timeout: float = 10.0) -> None:
        self.url = check_url(url)
        if template not in TEMPLATES:
            raise ValueError(f"unknown webhook template {template!r}; known: {', '.join(TEMPLATES)}")
        self.template, self.secret, self.timeout = template, secret, timeout

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        """``{"type": "webhook", "url": URL, "template": NAME}`` normalised; ValueError with a one-line reason."""
        url = check_url(config.get("url"))
        template = config.get("template") or "json"
        if template not in TEMPLATES:
            raise ValueError(f"unknown webhook template {template!r}; known: {', '.join(TEMPLATES)}")
        secret = config.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ValueError("webhook secret must be a non-empty string")
        return {**config, "type": cls.type, "url": url, "template": template}

    @classmethod
    def from_config(cls, config: dict[str, Any], settings: Any) -> WebhookChannel:
        """The channel for ``config`` (with its ``secret``), timeout from ``settings.alerts.webhook_timeout``."""
        config = cls.validate(config)
        alerts = getattr(settings, "alerts", settings)
        return cls(config["url"], template=config["template"], secret=config.get("secret"),
                   timeout=alerts.webhook_timeout)

    def describe(self) -> str:
        return f"webhook {redact(self.url)} ({self.template})"

    def payload(self, message: AlertMessage) -> dict[str, Any]:
        return TEMPLATES[self.template](message)

    def body(self, message: AlertMessage) -> bytes:
        """The raw request body: compact UTF-8 JSON of :meth:`payload`."""
        return json.dumps(self.payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def headers(self, message: AlertMessage, body: bytes, timestamp: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            NOTIFICATION_HEADER: one_line(message.notification_id),
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        return headers

    def send(self, message: AlertMessage) -> None:
        """POST ``message``; returns on a 2xx answer, else raises :class:`ChannelError`."""
        if self.template == "json" and not self.secret:
            raise ChannelError(f"{self.describe()}: no signing secret for this subscription; nothing was sent",
                               retryable=False)
        body = self.body(message)
        headers = self.headers(message, body, int(time.time()))
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with _OPENER.open(request, timeout=self.timeout) as response:
                    response.read(65536)  # let the receiver finish its answer before the connection closes
                return
            except urllib.error.HTTPError as exc:
                try:
                    if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                        url = self._redirect_target(url, exc.code, exc.headers["Location"])
                        continue
                    raise self._http_error(exc) from None
                finally:
                    exc.close()
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                raise self._network_error(exc) from exc
        raise ChannelError(f"{self.describe()}: more than {MAX_REDIRECTS} redirects", retryable=False)

    def _redirect_target(self, url: str, code: int, location: str) -> str:
        target = urljoin(url, location)
        old, new = urlsplit(url), urlsplit(target)
        same_host = (new.hostname or "").lower() == (old.hostname or "").lower()
        if not same_host or new.scheme not in ("http", "https") or (old.scheme == "https" and new.scheme != "https"):
            raise ChannelError(f"{self.describe()} answered HTTP {code}, a redirect to {redact(target)}: "
                               "not followed to another host or to plain http; update the webhook URL",
                               retryable=False)
        return target

    def _http_error(self, exc: urllib.error.HTTPError) -> ChannelError:
        try:
            detail = one_line(exc.read(300).decode("utf-8", "replace"), 200)
        except (OSError, http.client.HTTPException):
            detail = ""
        reason = f"HTTP {exc.code} {one_line(str(exc.reason or ''))}".rstrip() + (f": {detail}" if detail else "")
        retryable = exc.code >= 500 or exc.code in (408, 429)
        return ChannelError(f"{self.describe()} answered {reason}", retryable=retryable)

    def _network_error(self, exc: BaseException) -> ChannelError:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if not isinstance(reason, BaseException):  # URLError("unknown url type") and the like carry a string
            return ChannelError(f"{self.describe()}: {one_line(str(reason), 200)}")
        return connection_error(reason, self.describe(), self.timeout)
