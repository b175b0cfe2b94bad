"""What every request handler shares: the settings, one Elasticsearch client and the stores over it.

``create_app`` builds one :class:`WebContext` and keeps it on ``app.state.ctx``; handlers get it with the
``Depends(get_ctx)`` dependency. The user indices are created on first use (:meth:`WebContext.ready`), so the
app starts even while the cluster is down and answers with a clear page until it is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch
from fastapi import Request

from crawlers.sources import SourceRegistry, load_registry
from index.client import make_client
from index.search import SearchRequest, local_zone, search
from index.users import AuditLog, SessionStore, TokenStore, UserStore, ensure_user_indices
from mediawatch.config import Settings


@dataclass
class WebContext:
    settings: Settings
    client: Elasticsearch
    users: UserStore
    sessions: SessionStore
    tokens: TokenStore
    audit_log: AuditLog
    zone: ZoneInfo
    extras: dict[str, Any] = field(default_factory=dict)
    """Per-app state other modules keep (``ctx.extras.setdefault("trends", …)``)."""
    _ready: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _facets: tuple[float, dict[str, Any]] | None = None

    @classmethod
    def build(cls, settings: Settings) -> WebContext:
        client = make_client(settings)
        return cls(settings=settings, client=client, users=UserStore.of(client, settings),
                   sessions=SessionStore.of(client, settings), tokens=TokenStore.of(client, settings),
                   audit_log=AuditLog.of(client, settings), zone=local_zone(settings))

    def ready(self) -> None:
        """Create the users, sessions, tokens and audit indices once (raises the index layer's one-line errors)."""
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                ensure_user_indices(self.client, self.settings)
                self._ready = True

    def index_facets(self, max_age: float = 60.0) -> dict[str, Any]:
        """Counts by source, language, kind, topic and sentiment over everything indexed (cached ``max_age`` s);
        raises NothingIndexed before the first crawl."""
        cached = self._facets
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        result = search(self.client, self.settings, SearchRequest(query="", size=0, facets=True))
        facets = result.facets or {}
        self._facets = (time.monotonic(), facets)
        return facets


def source_registry(settings: Settings, client: Elasticsearch) -> SourceRegistry:
    """The sources pages name and filter by: sources.yaml with those added in the web app
    (``crawlers.sources.load_registry``, stored entries that no longer validate left out); the file alone, with a
    logged warning, when Elasticsearch cannot be reached. UserError (one line) when the file cannot be read
    either."""
    return load_registry(settings, client, strict=False, file_if_unreachable=True)


def get_ctx(request: Request) -> WebContext:
    """Dependency: the app's :class:`WebContext`."""
    return request.app.state.ctx
