"""SSRF guard: the crawler and every "fetch this URL" never reach loopback, private, link-local or cloud
metadata addresses — checked **after DNS resolution**, on the addresses a connection would use — unless
``crawl.allow_private_hosts`` names them (IP addresses, networks such as ``10.1.0.0/16``, or host names).

* :class:`GuardedResolver` wraps the resolver Scrapy would use and drops refused addresses from every
  resolution, so the connection never sees them: no traffic is ever sent to a refused address, and a name
  that resolves to one (DNS rebinding included) fails like an unknown host. Each refusal is remembered by
  host name so the run's statistics say why (``private_address``).
* :class:`NetGuardMiddleware` refuses URLs whose host is a refused address literal (``http://10.0.0.1/``),
  and URLs outside the source's ``allowed_domains`` — an IP entry there matches that address exactly,
  never as a suffix (Scrapy's own offsite check would let ``"1"`` allow ``10.0.0.1``).
* :func:`resolve_checked` is the same check for code outside Scrapy (``mediawatch extract URL``, the web
  app's "check a page"): resolve, check every address, connect only to a checked one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

# Ranges never fetched unless allowed: loopback, RFC 1918, carrier-grade NAT, link-local (cloud metadata
# lives at 169.254.169.254 and fd00:ec2::254), unique local IPv6, unspecified, multicast and reserved.
_BLOCKED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
)]  # fmt: skip
#: Host names -> the refused address they resolved to (for the run's statistics and messages).
REFUSED: dict[str, str] = {}


class RefusedAddress(Exception):
    """A URL's host is, or resolves only to, an address the guard refuses."""


@dataclass(frozen=True)
class Guard:
    """The check, with its allow-list."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_list(cls, entries: Iterable[str]) -> Guard:
        networks, hosts = [], set()
        for entry in entries:
            text = entry.strip().strip("[]")
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    @classmethod
    def from_settings(cls, settings: Any) -> Guard:
        return cls.from_list(settings.crawl.allow_private_hosts)

    def allows(self, address: str, host: str | None = None) -> bool:
        """True when ``address`` (reached for ``host``) may be fetched."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1
            ip = ip.ipv4_mapped
        if not any(ip in net for net in _BLOCKED):
            return True
        if host and host.lower().rstrip(".") in self.hosts:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)


def literal_address(host: str | None) -> str | None:
    """``host`` when it is an IP address literal (brackets removed), else None."""
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def resolve_checked(host: str, port: int, guard: Guard) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` results for ``host`` that the guard allows; RefusedAddress when none is (one line)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    allowed = [info for info in infos if guard.allows(info[4][0], host)]
    if not allowed:
        address = infos[0][4][0] if infos else "?"
        raise RefusedAddress(f"{host} resolves to {address}, a private, loopback or link-local address "
                             "(allow it with crawl.allow_private_hosts)")
    return allowed


# -- Scrapy --------------------------------------------------------------------------------------------


class _FilteringReceiver:
    """Passes on the resolved addresses the guard allows; remembers a refusal."""

    def __init__(self, receiver: Any, host: str, guard: Guard) -> None:
        self.receiver, self.host, self.guard = receiver, host, guard

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 - Twisted's interface
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        if self.guard.allows(address.host, self.host):
            self.receiver.addressResolved(address)
        else:
            REFUSED[self.host] = address.host

    def resolutionComplete(self) -> None:  # noqa: N802
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver:
    """Scrapy's ``TWISTED_DNS_RESOLVER``: the configured resolver (``MEDIAWATCH_INNER_RESOLVER``, default
    Scrapy's caching hostname resolver), with refused addresses removed from every answer."""

    def __init__(self, inner: Any, guard: Guard, reactor: Any) -> None:
        self.inner, self.guard, self.reactor = inner, guard, reactor

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        from scrapy.utils.misc import build_from_crawler, load_object

        from crawlers.settings import mediawatch_settings

        inner_class = load_object(crawler.settings.get("MEDIAWATCH_INNER_RESOLVER",
                                                       "scrapy.resolver.CachingHostnameResolver"))
        inner = build_from_crawler(inner_class, crawler, reactor=reactor)
        return cls(inner, Guard.from_settings(mediawatch_settings(crawler.settings)), reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(self, resolutionReceiver: Any, hostName: str, portNumber: int = 0,  # noqa: N802, N803
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:  # noqa: N803
        receiver = _FilteringReceiver(resolutionReceiver, hostName, self.guard)
        return self.inner.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)


class NetGuardMiddleware:
    """Downloader middleware: refused address literals and hosts outside the source's ``allowed_domains``
    never leave the crawler (their errback says ``private_address`` or ``offsite``)."""

    def __init__(self, crawler: Crawler, guard: Guard) -> None:
        self.crawler = crawler
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetGuardMiddleware:
        from crawlers.settings import mediawatch_settings

        return cls(crawler, Guard.from_settings(mediawatch_settings(crawler.settings)))

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname
        literal = literal_address(host)
        if literal is not None and not self.guard.allows(literal, host):
            raise IgnoreRequest(f"refused private address {literal} ({request.url})")
        source = getattr(self.crawler.spider, "source", None)
        if source is not None and not source.allows(request.url):
            raise IgnoreRequest(f"Filtered offsite request to {host!r}")
        return None
