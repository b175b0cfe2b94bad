"""One-off fetches outside a crawl (``mediawatch extract URL``, the web app's "check a page"), with the
crawler's protections: the SSRF guard on every hop (``crawlers.netguard``: the host is resolved, checked,
and the connection made to a checked address — a redirect to loopback is refused like a direct URL), at
most ``crawl.max_page_bytes`` read, and **one deadline for the whole fetch** (``crawl.timeout``), so a
server that drips a byte at a time cannot hold it longer than that.

Written on ``http.client`` rather than ``urllib.request`` because urllib resolves and connects by name
itself (no way to pin the checked address) and applies its timeout per socket read, not per fetch.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawlers.netguard import Guard, RefusedAddress, resolve_checked
from mediawatch.errors import UserError

MAX_REDIRECTS = 5
CHUNK = 65536
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass
class Fetched:
    body: bytes
    content_type: str | None
    url: str  # the final URL, after redirects
    truncated: bool = False


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address while speaking HTTP to the host name."""

    def __init__(self, host: str, port: int, address: Any, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection(self._address[:2], timeout=self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: Any, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection(self._address[:2], timeout=self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_url(url: str, *, guard: Guard, user_agent: str, timeout: float, max_bytes: int,
              accept: str = HTML_ACCEPT) -> Fetched:
    """GET ``url`` (redirects followed, each hop checked). Raises UserError, one line, for a malformed URL,
    a refused address, an unreachable host, an HTTP error, too many redirects or the deadline."""
    deadline = time.monotonic() + timeout
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(current)
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise UserError(f"malformed URL {current!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise UserError(f"not an http(s) URL: {current!r}")
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            address = resolve_checked(host, port, guard)[0][4]
        except RefusedAddress as exc:
            raise UserError(f"refused {current}: {exc}") from None
        except OSError as exc:
            raise UserError(f"cannot reach {current}: {exc}") from None
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address, timeout=_left(deadline, current, timeout))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers={"User-Agent": user_agent, "Accept": accept,
                                                       "Accept-Encoding": "identity"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                current = urljoin(current, response.getheader("Location", ""))
                connection.close()
                continue
            if response.status >= 400:
                raise UserError(f"{current}: HTTP {response.status} {response.reason}")
            body, truncated = _read(connection, response, deadline, max_bytes, current, timeout)
            return Fetched(body, response.getheader("Content-Type"), current, truncated)
        except UserError:
            raise
        except TimeoutError:
            raise UserError(f"cannot fetch {current}: no answer within {timeout:g}s") from None
        except (http.client.HTTPException, OSError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise UserError(f"cannot fetch {current}: {reason}") from None
        finally:
            connection.close()
    raise UserError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _left(deadline: float, url: str, timeout: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise UserError(f"cannot fetch {url}: not done within {timeout:g}s (the whole fetch)")
    return remaining


def _read(connection: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float,
          max_bytes: int, url: str, timeout: float) -> tuple[bytes, bool]:
    """The body, at most ``max_bytes`` (True when there was more), every read bounded by what is left of
    the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if connection.sock is not None:
            connection.sock.settimeout(_left(deadline, url, timeout))
        chunk = response.read1(CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        _left(deadline, url, timeout)
    body = b"".join(chunks)
    return body[:max_bytes], len(body) > max_bytes


def guard_for(settings: Any) -> Guard:
    return Guard.from_settings(settings)
