"""E-mail over SMTP: one HTML + plain-text message per notification, in Vietnamese.

Config: ``{"type": "email", "to": "an@example.vn"}`` (one address, optionally ``"Tên <an@example.vn>"``;
a subscription that mails several people has one channel per address). The server comes from
``settings.alerts``: ``smtp_host``/``smtp_port``, implicit TLS (``smtp_ssl``, port 465) or ``STARTTLS``
(``smtp_starttls``, port 587), login when ``smtp_username`` is set, ``smtp_timeout``, ``mail_from``.
Certificates are verified against the system's trust store (``SSL_CERT_FILE`` names another CA bundle).

The message is ``multipart/alternative`` (plain text, then HTML), UTF-8, with a stable ``Message-ID``
derived from the notification id (a re-send is recognisable as the same message) and the header
``X-Mediawatch-Notification-Id``. Failures raise :class:`ChannelError`: no connection, timeouts and 4xx
replies are retryable; 5xx replies (a refused recipient), a failed login and a server without the
STARTTLS/AUTH it is configured for are not.

The Vietnamese wording (subject, headings, summaries, times, snippets) lives here as plain functions, so
the chat templates of :mod:`alerts.channels.webhook` say exactly what the e-mail says.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import smtplib
import socket
import ssl
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup

from alerts.channels.base import Channel, ChannelError
from alerts.message import AlertItem, AlertMessage

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TITLE_CHARS = 120  # a title in a subject line is cut here

# --------------------------------------------------------------------------------------------- wording

SENTIMENTS = {"negative": "tiêu cực", "neutral": "trung lập", "positive": "tích cực"}
LINK_LABELS = {
    "search": "Xem tất cả trong mediawatch",
    "alert": "Mở cảnh báo trong mediawatch",
    "feed": "Nguồn tin Atom",
    "manage": "Quản lý cảnh báo",
    "unsubscribe": "Huỷ nhận cảnh báo này",
}
FOOTER_LINKS = ("manage", "unsubscribe")  # small links in the footer, not buttons
_MARK = re.compile(r"(</?mark>)", re.IGNORECASE)


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with runs of whitespace (newlines too) collapsed; cut at ``limit`` characters with "…"."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def number(value: float, decimals: int = 0) -> str:
    """A number as Vietnamese writes it: ``1.234``, ``3,5``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_label(value: datetime, timezone: str) -> str:
    """The zone's offset at ``value`` as people in Vietnam write it: ``GMT+7`` (``GMT+5:30``, ``GMT``)."""
    offset = value.astimezone(_zone(timezone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"GMT{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def local_time(value: datetime | None, timezone: str) -> str:
    """``07:30 01/11/2026`` in ``timezone``; empty for no time."""
    if value is None:
        return ""
    return value.astimezone(_zone(timezone)).strftime("%H:%M %d/%m/%Y")


def snippet_segments(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as ``(plain text, highlighted)`` pieces: entities decoded, ``<mark>`` turned into the flag.

    Any other markup is kept as text (and escaped again by whoever renders it): only ``<mark>`` is trusted."""
    pieces: list[tuple[str, bool]] = []
    marked = False
    for part in _MARK.split(" ".join(snippet.split())):
        if part.lower() == "<mark>":
            marked = True
        elif part.lower() == "</mark>":
            marked = False
        elif part:
            pieces.append((html.unescape(part), marked))
    return pieces


def snippet_html(snippet: str) -> Markup:
    """The snippet for HTML: text escaped, hits in ``<mark>`` (rebuilt here, so no other markup passes)."""
    out = []
    for text, marked in snippet_segments(snippet):
        text = html.escape(text, quote=False)
        out.append(f"<mark>{text}</mark>" if marked else text)
    return Markup("".join(out))


def snippet_text(snippet: str, open_mark: str = "«", close_mark: str = "»") -> str:
    """The snippet as plain text with hits between ``open_mark`` and ``close_mark`` (``«lũ lụt»``)."""
    pieces = snippet_segments(snippet)
    return "".join(f"{open_mark}{t.strip()}{close_mark}" if marked and t.strip() else t for t, marked in pieces)


def digest_cadence(message: AlertMessage) -> str:
    """``hằng giờ`` / ``hằng ngày`` / ``hằng tuần`` from the digest's period; empty when it is none of them."""
    if not message.period:
        return ""
    hours = (message.period[1] - message.period[0]).total_seconds() / 3600
    if hours <= 1.5:
        return "hằng giờ"
    if 20 <= hours <= 28:
        return "hằng ngày"
    if 160 <= hours <= 176:
        return "hằng tuần"
    return ""


def message_total(message: AlertMessage) -> int:
    return message.total if message.total is not None else len(message.items)


def heading(message: AlertMessage) -> str:
    """What the message is, in a few words: ``Cảnh báo "ngập lụt Từ Sơn"``."""
    name = one_line(message.subscription_name, 80)
    if message.kind == "digest":
        cadence = digest_cadence(message)
        return f'Bản tin {cadence} "{name}"' if cadence else f'Bản tin "{name}"'
    if message.kind == "spike":
        return f'Tăng đột biến "{name}"'
    if message.kind == "test":
        return f'Thử kênh gửi cảnh báo "{name}"'
    return f'Cảnh báo "{name}"'


def headline(message: AlertMessage) -> str:
    """The heading with what is new: the title of an instant alert's one document, else a count."""
    top = heading(message)
    count = message_total(message)
    if message.kind == "instant":
        if len(message.items) == 1 and message.items[0].title.strip():
            return f"{top}: {one_line(message.items[0].title, TITLE_CHARS)}"
        return f"{top}: {number(count)} bài mới" if count else top
    if message.kind == "digest":
        return f"{top}: {number(count)} bài"
    if message.kind == "spike" and message.spike:
        s = message.spike
        return f"{top}: {number(s.today)} bài hôm nay, gấp {number(s.factor, 1)} lần bình thường"
    return top


def subject(message: AlertMessage) -> str:
    """The e-mail subject: ``[mediawatch] Cảnh báo "…": 3 bài mới``."""
    return "[mediawatch] " + headline(message)


def summary(message: AlertMessage) -> list[str]:
    """One or two sentences under the heading saying what the message holds."""
    count, shown, tz = message_total(message), len(message.items), message.timezone
    lines: list[str] = []
    if message.kind == "instant":
        lines.append(f"{number(count)} bài mới khớp với cảnh báo của bạn." if count != 1
                     else "Có một bài mới khớp với cảnh báo của bạn.")
    elif message.kind == "digest":
        if message.period:
            start, end = message.period
            lines.append(f"{number(count)} bài khớp với cảnh báo từ {local_time(start, tz)} "
                         f"đến {local_time(end, tz)} ({zone_label(end, tz)}).")
        else:
            lines.append(f"{number(count)} bài khớp với cảnh báo.")
        if count > shown:
            lines.append(f"Dưới đây là {number(shown)} bài trong số đó.")
        elif count == 0:
            lines.append("Không có bài mới trong khoảng thời gian này.")
    elif message.kind == "spike" and message.spike:
        s = message.spike
        lines.append(f"Hôm nay có {number(s.today)} bài, gấp {number(s.factor, 1)} lần mức thường ngày "
                     f"({number(s.baseline, 1)} bài/ngày, trung vị {number(s.window_days)} ngày qua).")
    elif message.kind == "test":
        lines.append("Đây là thông báo thử: kênh gửi này đã được cấu hình đúng. Bạn không cần làm gì thêm.")
    return lines


def item_meta(item: AlertItem, timezone: str) -> list[str]:
    """Source, kind, local time and tone of one document, for a " · "-joined line."""
    parts = [one_line(item.source_name or item.source)]
    if item.kind == "forum":
        parts.append("Diễn đàn")
    if item.published:
        parts.append(local_time(item.published, timezone))
    if item.sentiment in SENTIMENTS:
        parts.append(f"Sắc thái {SENTIMENTS[item.sentiment]}")
    return [p for p in parts if p]


def copies_label(item: AlertItem) -> str:
    """``+2 nguồn khác`` for a story other outlets carry too; empty when none."""
    return f"+{number(len(item.copies))} nguồn khác" if item.copies else ""


def host(url: str) -> str:
    """The host of a URL without ``www.`` (how an outlet is named in "+N nguồn khác")."""
    name = urlsplit(url).hostname or url
    return name.removeprefix("www.")


def is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)


def message_links(message: AlertMessage) -> list[tuple[str, str, str]]:
    """``(key, label, url)`` for the message's links (http(s) only), known keys first, with Vietnamese labels."""
    order = {key: i for i, key in enumerate(LINK_LABELS)}
    keys = [key for key, url in message.links.items() if is_web_url(url)]
    keys.sort(key=lambda key: order.get(key, len(order)))
    return [(key, LINK_LABELS.get(key, key.replace("_", " ").capitalize()), message.links[key]) for key in keys]


def footer(message: AlertMessage) -> str:
    when = f"Giờ theo múi {message.timezone} ({zone_label(message.created, message.timezone)})."
    return f'Bạn nhận thư này vì đã đăng ký cảnh báo "{one_line(message.subscription_name)}" trên mediawatch. {when}'


# --------------------------------------------------------------------------------------------- addresses

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def parse_address(value: Any, what: str = "e-mail address") -> tuple[str, str]:
    """``(display name, addr-spec)`` of ``"an@example.vn"`` or ``"Tên <an@example.vn>"``; the domain in
    lower case and ASCII (an internationalised domain as punycode). ValueError with a one-line reason.

    Hand-written because ``email.utils.parseaddr`` accepts nearly anything (it returns ``''`` or a partial
    address instead of saying what is wrong)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    text = value.strip()
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"{what} {one_line(text)!r} contains a line break")
    name = ""
    bracketed = re.fullmatch(r"(.*?)\s*<([^<>]*)>", text)
    if bracketed:
        name, text = bracketed.group(1).strip().strip('"').strip(), bracketed.group(2).strip()
    shown = f"{what} {value.strip()!r}"
    if text.count("@") != 1:
        raise ValueError(f"{shown} needs exactly one '@' (name@domain)")
    local, domain = text.split("@")
    if not local:
        raise ValueError(f"{shown} has nothing before the '@'")
    if not domain:
        raise ValueError(f"{shown} has nothing after the '@'")
    if not _LOCAL.fullmatch(local) or len(local) > 64:
        raise ValueError(f"{shown}: the part before '@' has characters or dots an address cannot have")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"{shown}: {domain!r} is not a valid domain") from None
    labels = ascii_domain.split(".")
    if not ascii_domain or len(ascii_domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{shown}: {domain!r} is not a valid domain")
    return name, f"{local}@{ascii_domain}"


def format_address(value: str, what: str = "e-mail address") -> str:
    """The normalised form of an address (see :func:`parse_address`)."""
    name, addr = parse_address(value, what)
    if not name:
        return addr
    local, domain = addr.split("@")
    return str(Address(display_name=name, username=local, domain=domain))  # quotes the name when it must


def message_id(notification_id: str, domain: str) -> str:
    """``<id@domain>``: the notification id itself when it is a safe dot-atom, else a hash of it.
    The same notification always gets the same Message-ID."""
    if re.fullmatch(r"[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*", notification_id) and len(notification_id) <= 64:
        left = notification_id
    else:
        left = "mw-" + hashlib.sha256(notification_id.encode("utf-8")).hexdigest()[:40]
    return f"<{left}@{domain}>"


# --------------------------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(message: AlertMessage) -> dict[str, Any]:
    tz = message.timezone
    items = []
    for item in message.items:
        items.append({
            "title": one_line(item.title) or item.url,
            "url": item.url if is_web_url(item.url) else "",
            "meta": " · ".join(item_meta(item, tz)),
            "snippet_html": snippet_html(item.snippet),
            "snippet_text": snippet_text(item.snippet),
            "copies": copies_label(item),
            "copy_links": [(host(u), u) for u in item.copies[:5] if is_web_url(u)],
        })
    spike = None
    if message.kind == "spike" and message.spike:
        s = message.spike
        spike = {
            "sources": [f"{one_line(src)} ({number(n)})" for src, n in s.sources[:5]],
            "stories": [f"{one_line(title, TITLE_CHARS)} ({number(n)})" for title, n in s.stories[:5]],
            "terms": [one_line(t) for t in s.terms[:10]],
        }
    more = message_total(message) - len(message.items)
    links = message_links(message)
    return {
        "subject": subject(message),
        "heading": heading(message),
        "headline": headline(message),
        "summary": summary(message),
        "query": one_line(message.query),
        "items": items,
        "more": number(more) if more > 0 and message.kind != "digest" else "",
        "spike": spike,
        "links": [(label, url) for key, label, url in links if key not in FOOTER_LINKS],
        "footer_links": [(label, url) for key, label, url in links if key in FOOTER_LINKS],
        "footer": footer(message),
    }


def render_text(message: AlertMessage) -> str:
    """The plain-text part."""
    return _environment().get_template("email.txt").render(_context(message))


def render_html(message: AlertMessage) -> str:
    """The HTML part: everything escaped except the snippets' ``<mark>`` (rebuilt by :func:`snippet_html`)."""
    return _environment().get_template("email.html").render(_context(message))


# --------------------------------------------------------------------------------------------- channel


class EmailChannel(Channel):
    """Sends each notification as one e-mail to one address over SMTP."""

    type = "email"

    def __init__(
        self,
        to: str,
        *,
        mail_from: str = "mediawatch <mediawatch@localhost>",
        host: str = "127.0.0.1",
        port: int = 25,
        starttls: bool = False,
        use_ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if starttls and use_ssl:
            raise ValueError("alerts.smtp_ssl and alerts.smtp_starttls exclude each other: choose one")
        self.to = format_address(to)
        self.mail_from = format_address(mail_from, "alerts.mail_from")
        self.host, self.port, self.starttls, self.use_ssl = host, port, starttls, use_ssl
        self.username, self.password, self.timeout = username, password, timeout
        self.ssl_context = ssl_context

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        """``{"type": "email", "to": ADDRESS}`` with the address normalised; ValueError with a one-line reason."""
        to = config.get("to")
        if isinstance(to, list | tuple):
            raise ValueError("an e-mail channel has one address in 'to'; add a channel for each further address")
        return {**config, "type": cls.type, "to": format_address(to)}

    @classmethod
    def from_config(cls, config: dict[str, Any], settings: Any) -> EmailChannel:
        """The channel for ``config``, with the SMTP server of ``settings.alerts`` (Settings or AlertSettings)."""
        config = cls.validate(config)
        alerts = getattr(settings, "alerts", settings)
        return cls(
            config["to"],
            mail_from=alerts.mail_from,
            host=alerts.smtp_host,
            port=alerts.smtp_port,
            starttls=alerts.smtp_starttls,
            use_ssl=alerts.smtp_ssl,
            username=alerts.smtp_username,
            password=alerts.smtp_password,
            timeout=alerts.smtp_timeout,
            ssl_context=_context_for(getattr(alerts, "smtp_ca_certs", None)),
        )

    def describe(self) -> str:
        return f"e-mail {parse_address(self.to)[1]}"

    def compose(self, message: AlertMessage) -> EmailMessage:
        """The e-mail for ``message`` (what :meth:`send` sends)."""
        sender_domain = parse_address(self.mail_from)[1].split("@")[1]
        mail = EmailMessage()
        mail["Subject"] = one_line(subject(message))
        mail["From"] = self.mail_from
        mail["To"] = self.to
        mail["Date"] = format_datetime(message.created)
        mail["Message-ID"] = message_id(message.notification_id, sender_domain)
        mail["X-Mediawatch-Notification-Id"] = one_line(message.notification_id)
        mail["X-Mediawatch-Subscription-Id"] = one_line(message.subscription_id)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
        mail["X-Auto-Response-Suppress"] = "All"
        unsubscribe = message.links.get("unsubscribe")
        if unsubscribe and is_web_url(unsubscribe):
            mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail.set_content(render_text(message), subtype="plain", charset="utf-8", cte="quoted-printable")
        mail.add_alternative(render_html(message), subtype="html", charset="utf-8", cte="quoted-printable")
        return mail

    def _tls(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _login(self, smtp: smtplib.SMTP) -> None:
        """``smtp.login``, except for credentials with non-ASCII characters (a Vietnamese password): smtplib
        encodes those as ASCII and fails, so they go as RFC 4616 ``AUTH PLAIN``, which is UTF-8, from here."""
        user, password = self.username or "", self.password or ""
        if (user + password).isascii():
            smtp.login(user, password)
            return
        if not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
            raise smtplib.SMTPNotSupportedError("AUTH PLAIN, needed for a non-ASCII user name or password")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
        code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)

    def send(self, message: AlertMessage) -> None:
        """Deliver ``message``; :class:`ChannelError` says why not and whether a retry may work."""
        self.deliver(self.compose(message), [parse_address(self.to)[1]])

    def deliver(self, mail: EmailMessage, recipients: list[str]) -> None:
        """Send an already composed ``mail`` to ``recipients`` (bare addresses) over this channel's SMTP server
        (other mail, such as a report, reuses the connection handling); :class:`ChannelError` as :meth:`send`."""
        sender = parse_address(self.mail_from)[1]
        where = f"{self.host}:{self.port}"
        smtp: smtplib.SMTP | None = None
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self.username:
                self._login(smtp)
            smtp.send_message(mail, from_addr=sender, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise smtp_error(exc, where) from exc
        finally:
            if smtp is not None:
                _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    """QUIT politely; the message is already accepted (or failed), so nothing here changes the outcome."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {one_line(text, 200)}"


def smtp_error(exc: BaseException, where: str) -> ChannelError:
    """A :class:`ChannelError` for what ``smtplib`` raised: 4xx and network trouble retryable, 5xx not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients
        retryable = any(400 <= code < 500 for code, _ in refused.values())
        detail = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in refused.items())
        return ChannelError(f"SMTP server {where} refused the recipient ({detail})", retryable=retryable)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        retryable = 400 <= exc.smtp_code < 500  # 454: temporary authentication failure
        return ChannelError(f"SMTP login to {where} failed ({_reply(exc.smtp_code, exc.smtp_error)}); "
                            "check alerts.smtp_username and alerts.smtp_password", retryable=retryable)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ChannelError(f"SMTP server {where} does not offer what alerts settings ask for ({one_line(str(exc))}); "
                            "check alerts.smtp_starttls, alerts.smtp_ssl and alerts.smtp_username", retryable=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        what = "refused the sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "answered"
        return ChannelError(f"SMTP server {where} {what} {_reply(code, exc.smtp_error)}",
                            retryable=not 500 <= code < 600)
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
        return ChannelError(f"SMTP server {where} did not answer in time")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ChannelError(f"SMTP server {where} closed the connection ({one_line(str(exc))})")
    if isinstance(exc, OSError):
        return connection_error(exc, f"SMTP server {where}")
    return ChannelError(f"SMTP server {where}: {type(exc).__name__}: {one_line(str(exc))}")


def connection_error(exc: BaseException, where: str, timeout: float | None = None) -> ChannelError:
    """A :class:`ChannelError` for a failed connection to ``where``: an untrusted certificate is final,
    everything else (refused, timed out, reset, DNS, TLS handshake) may work later."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ChannelError(f"{where}: TLS certificate not trusted ({exc.verify_message})", retryable=False)
    if isinstance(exc, ssl.SSLError):
        return ChannelError(f"{where}: TLS failed ({one_line(str(exc))})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return ChannelError(f"{where} did not answer " + (f"within {timeout:g} s" if timeout else "in time"))
    if isinstance(exc, ConnectionRefusedError):
        return ChannelError(f"{where} refused the connection (is it running?)")
    if isinstance(exc, socket.gaierror):
        return ChannelError(f"{where}: host not found ({exc.strerror})")
    if isinstance(exc, ConnectionResetError):
        return ChannelError(f"{where} closed the connection without an answer")
    return ChannelError(f"{where}: {type(exc).__name__}: {one_line(str(exc), 200)}")


def _context_for(ca_certs: Any) -> ssl.SSLContext | None:
    """A TLS context trusting the system's CAs plus ``alerts.smtp_ca_certs`` when set (a private CA)."""
    if not ca_certs:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(ca_certs))
    return context
