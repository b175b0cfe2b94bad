"""People and what they do in the web app, kept in Elasticsearch: users, sessions, API tokens, the audit log.

Small stores over the specs of :mod:`index.mappings` (``USERS``, ``SESSIONS``, ``TOKENS``, ``AUDIT``). They hold
records and nothing else: hashing, cookies and permissions live in ``web/auth.py``. Secrets are never stored:
a session's and a token's record id is the sha256 of the secret (:func:`secret_id`). Reads of a single record
are realtime GETs (a login is visible at once); lists refresh first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers

from index.mappings import AUDIT, SESSIONS, TOKENS, USERS, IndexSpec, alias, ensure_indices
from mediawatch.config import Settings

WEB_SPECS: tuple[IndexSpec, ...] = (USERS, SESSIONS, TOKENS, AUDIT)
ROLES = ("admin", "analyst")


def ensure_user_indices(client: Elasticsearch, settings: Settings) -> dict[str, str]:
    """Create the users, sessions, tokens and audit indices when missing (``ensure_indices`` on those specs)."""
    return ensure_indices(client, settings, WEB_SPECS)


def secret_id(secret: str) -> str:
    """The record id of a session or API token: the sha256 of the secret, hex (the secret is never stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class _Store:
    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    def get(self, record_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.get(index=self.index, id=record_id)["_source"])
        except NotFoundError:
            return None

    def create(self, record_id: str, doc: dict[str, Any]) -> bool:
        """Create-only: False when ``record_id`` exists already."""
        try:
            self.client.index(index=self.index, id=record_id, document=doc, op_type="create", refresh=True)
        except ConflictError:
            return False
        return True

    def update(self, record_id: str, fields: dict[str, Any], *, refresh: bool = True) -> bool:
        """Set ``fields``; False when the record does not exist."""
        try:
            self.client.update(index=self.index, id=record_id, doc=fields, refresh=refresh)
        except NotFoundError:
            return False
        return True

    def delete(self, record_id: str) -> bool:
        try:
            self.client.delete(index=self.index, id=record_id, refresh=True)
        except NotFoundError:
            return False
        return True

    def find(self, query: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, record) for every record matching ``query`` (after a refresh)."""
        try:
            self.client.indices.refresh(index=self.index)
            for hit in helpers.scan(self.client, index=self.index, query={"query": query}, size=500):
                yield hit["_id"], hit["_source"]
        except NotFoundError:
            return


class UserStore(_Store):
    """Users by login name (lower case): ``{id, display_name, email, role, password_hash, active, language,
    created, updated, last_login}``."""

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> UserStore:
        return cls(client, alias(settings, USERS))

    def all(self) -> list[dict[str, Any]]:
        return sorted((doc for _, doc in self.find({"match_all": {}})), key=lambda d: d["id"])

    def count_active_admins(self) -> int:
        return sum(1 for u in self.all() if u.get("role") == "admin" and u.get("active", True))


class SessionStore(_Store):
    """Browser sessions by :func:`secret_id` of the cookie: ``{id, user, csrf, created, expires, last_seen, ip,
    user_agent}``."""

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> SessionStore:
        return cls(client, alias(settings, SESSIONS))

    def delete_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of ``user_id`` (but ``keep``); returns how many ended. Scan + bulk: the local node
        has no delete-by-query."""
        actions = [{"_op_type": "delete", "_index": self.index, "_id": rid}
                   for rid, _ in self.find({"term": {"user": user_id}}) if rid != keep]
        if not actions:
            return 0
        done, _ = helpers.bulk(self.client, actions, raise_on_error=False, refresh=True)
        return done

    def delete_expired(self, now: datetime) -> int:
        actions = [{"_op_type": "delete", "_index": self.index, "_id": rid}
                   for rid, _ in self.find({"range": {"expires": {"lt": iso(now)}}})]
        if not actions:
            return 0
        done, _ = helpers.bulk(self.client, actions, raise_on_error=False, refresh=True)
        return done


class TokenStore(_Store):
    """API tokens by :func:`secret_id`: ``{id, user, name, hint, created, last_used, revoked}``."""

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> TokenStore:
        return cls(client, alias(settings, TOKENS))

    def for_user(self, user_id: str, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        tokens = [doc for _, doc in self.find({"term": {"user": user_id}})]
        if not include_revoked:
            tokens = [t for t in tokens if not t.get("revoked")]
        return sorted(tokens, key=lambda t: t.get("created") or "", reverse=True)

    def revoke_for_user(self, user_id: str) -> int:
        count = 0
        for token in self.for_user(user_id):
            count += self.update(token["id"], {"revoked": True})
        return count


@dataclass
class AuditPage:
    total: int
    entries: list[dict[str, Any]]


class AuditLog:
    """The audit log: ``{time, actor, action, target, outcome, ip, details}``, newest first."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index

    @classmethod
    def of(cls, client: Elasticsearch, settings: Settings) -> AuditLog:
        return cls(client, alias(settings, AUDIT))

    def record(self, *, actor: str, action: str, target: str = "", outcome: str = "ok", ip: str = "",
               details: dict[str, Any] | None = None, at: datetime | None = None, refresh: bool = False) -> None:
        """Append one entry. ``refresh``: visible to the next search at once (login throttling counts them)."""
        doc = {"time": iso(at or now_utc()), "actor": actor or "-", "action": action, "target": target,
               "outcome": outcome, "ip": ip, "details": details or {}}
        self.client.index(index=self.index, document=doc, refresh=refresh)

    def search(self, *, actor: str | None = None, action: str | None = None, outcome: str | None = None,
               target: str | None = None, since: datetime | None = None, until: datetime | None = None,
               offset: int = 0, size: int = 50) -> AuditPage:
        """Entries matching every given filter, newest first; ``action`` ending in ``.`` or ``*`` is a prefix
        (``user.`` finds user.create, user.disable …)."""
        filters: list[dict[str, Any]] = []
        for field, value in (("actor", actor), ("outcome", outcome), ("target", target)):
            if value:
                filters.append({"term": {field: value}})
        if action:
            if action.endswith(("*", ".")):
                filters.append({"prefix": {"action": action.rstrip("*")}})
            else:
                filters.append({"term": {"action": action}})
        if since or until:
            rng: dict[str, str] = {}
            if since:
                rng["gte"] = iso(since)
            if until:
                rng["lte"] = iso(until)
            filters.append({"range": {"time": rng}})
        try:
            self.client.indices.refresh(index=self.index)
            resp = self.client.search(index=self.index, query={"bool": {"filter": filters}}, from_=offset,
                                      size=size, sort=[{"time": {"order": "desc"}}], track_total_hits=True)
        except NotFoundError:
            return AuditPage(0, [])
        return AuditPage(resp["hits"]["total"]["value"], [h["_source"] for h in resp["hits"]["hits"]])

    def actions(self) -> list[str]:
        """Distinct actions recorded so far (for the filter's choices)."""
        try:
            resp = self.client.search(index=self.index, size=0,
                                      aggs={"a": {"terms": {"field": "action", "size": 200}}})
        except NotFoundError:
            return []
        return sorted(b["key"] for b in resp["aggregations"]["a"]["buckets"])

    def recent_failures(self, *, field: str, value: str, since: datetime, limit: int) -> list[datetime]:
        """Times of failed logins (``login_failed``, outcome ``failed``) whose ``field`` (``target``: the login
        name tried, or ``ip``) is ``value``, since ``since``; newest first, at most ``limit``."""
        query = {"bool": {"filter": [{"term": {"action": "login_failed"}}, {"term": {"outcome": "failed"}},
                                     {"term": {field: value}}, {"range": {"time": {"gte": iso(since)}}}]}}
        try:
            resp = self.client.search(index=self.index, query=query, size=limit, sort=[{"time": "desc"}],
                                      source=["time"])
        except NotFoundError:
            return []
        return [datetime.fromisoformat(h["_source"]["time"]) for h in resp["hits"]["hits"]]
