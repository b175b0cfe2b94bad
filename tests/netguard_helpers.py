"""For the SSRF tests: a resolver that maps test names to chosen addresses (the real resolver otherwise),
and a socket-level recorder of every connection a crawl process attempts."""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

#: name -> address this resolver answers (e.g. a public-looking name that resolves to 10.0.0.1)
NAMES = {"intranet.test": "10.0.0.1", "metadata.test": "169.254.169.254", "ula.test": "fd00::1",
         "site.test": "127.0.0.1"}


@implementer(IHostnameResolver)
class StaticResolver:
    """``MEDIAWATCH_INNER_RESOLVER`` for tests: :data:`NAMES`, else the reactor's own resolver."""

    def __init__(self, reactor: Any) -> None:
        self.original = reactor.nameResolver

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> StaticResolver:
        return cls(reactor)

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0,  # noqa: N802, N803
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:  # noqa: N803
        address = NAMES.get(hostName)
        if address is None:
            return self.original.resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)
        receiver.resolutionBegan(None)
        kind = IPv6Address if ":" in address else IPv4Address
        receiver.addressResolved(kind("TCP", address, portNumber))
        receiver.resolutionComplete()
        return None


SITECUSTOMIZE = '''
import os, socket
_log = os.environ["MEDIAWATCH_TEST_CONNECT_LOG"]
def _record(address):
    with open(_log, "a") as fh:
        fh.write(f"{address[0]}\\n")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def connect(self, address):
    if isinstance(address, tuple):
        _record(address)
    return _connect(self, address)
def connect_ex(self, address):
    if isinstance(address, tuple):
        _record(address)
    return _connect_ex(self, address)
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
'''
