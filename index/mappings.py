"""Index layout: versioned index templates behind aliases, explicit mappings, diacritic-aware fields.

Each logical index (``docs``, ``pages``, ``runs``, ``locks``) is an alias ``<prefix>-<name>`` over a
concrete index ``<prefix>-<name>-v<N>`` created from a composable template of the same version.
:func:`ensure_indices` only creates what is missing; when a spec's ``version`` is raised, crawls and
searches refuse the outdated index with one line naming ``mediawatch index migrate``
(:mod:`index.migrate`), which copies the data under a lock while writers are held off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from mediawatch.config import Settings
from mediawatch.errors import SchemaOutdated

# The integration-test distribution ships no analysis-common module (no asciifolding), so
# diacritic-insensitive search uses sibling fields: `title` keeps diacritics (lũ ≠ lu) and
# `title_folded` holds Python-folded text (enrich.folding.fold: "lũ lụt" -> "lu lut"). Both use the
# core `standard` analyzer; queries search both, so exact-diacritic matches score higher.
TEXT = {"type": "text", "analyzer": "standard"}


def _text(name: str) -> dict[str, Any]:
    """A full-text field and its folded sibling."""
    return {name: TEXT, f"{name}_folded": TEXT}


KEYWORD = {"type": "keyword"}
DATE = {"type": "date"}

DOC_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "url": KEYWORD,
    "canonical_url": KEYWORD,
    "source": KEYWORD,
    "source_name": KEYWORD,
    "kind": KEYWORD,
    **_text("title"),
    **_text("text"),
    **_text("description"),
    "author": KEYWORD,
    "section": KEYWORD,
    "language": KEYWORD,
    "published": DATE,
    "updated": DATE,
    "date_source": KEYWORD,
    "crawled_at": DATE,
    "first_seen": DATE,
    "changed_at": DATE,
    "content_hash": KEYWORD,
    "word_count": {"type": "integer"},
    "encoding": KEYWORD,
    "thread": {
        "properties": {
            "url": KEYWORD,
            **_text("title"),
            "post_id": KEYWORD,
            "position": {"type": "integer"},
            "page_url": KEYWORD,
        }
    },
}

# v2: enrichment (topic, sentiment, stories, model versions).
# v3: author and section are full-text fields with folded siblings (``author:nguyen`` finds
#     "Nguyễn Văn A"); ``section.keyword`` keeps the exact value for facets.
DOC_PROPERTIES.update(
    {
        "topic": KEYWORD,
        "topics": {"properties": {"label": KEYWORD, "score": {"type": "float"}}},
        "sentiment": {"properties": {"label": KEYWORD, "score": {"type": "float"}}},
        "story": KEYWORD,
        "story_bands": KEYWORD,
        "story_minhash": {"type": "long", "index": False, "doc_values": False},
        "story_origin": {"properties": {"source": KEYWORD, "url": KEYWORD, "published": DATE, "doc_id": KEYWORD}},
        "models": {"properties": {"topic": KEYWORD, "sentiment": KEYWORD}},
        "enriched_at": DATE,
    }
)
DOC_PROPERTIES.update(
    {
        **_text("author"),
        "section": {**TEXT, "fields": {"keyword": KEYWORD}},
        "section_folded": TEXT,
        # Set on every write of a new or changed document; alert matching clears it (alerts.service).
        "alert_pending": {"type": "boolean"},
        # A person's correction of the tags (shown and filtered on instead of the model's; kept across
        # re-crawls and re-tagging: the enrichment step applies stored corrections, see <prefix>-corrections),
        # and what the models said.
        "corrected": {"properties": {"topic": KEYWORD, "sentiment": KEYWORD, "by": KEYWORD, "at": DATE}},
        "model_tags": {"properties": {"topic": KEYWORD, "sentiment": KEYWORD}},
        # Provinces and communes/wards the document names (enrich.places): codes and names to filter and
        # facet on, the text as written (shown, not searched), and the gazetteer's version.
        "places": {
            "properties": {
                "code": KEYWORD,
                "name": KEYWORD,
                "level": KEYWORD,  # province | ward
                "province": KEYWORD,
                "province_name": KEYWORD,
                "matched": {"type": "keyword", "index": False, "doc_values": False},
            }
        },
        "models": {"properties": {**DOC_PROPERTIES["models"]["properties"], "places": KEYWORD}},
    }
)

PAGE_PROPERTIES: dict[str, Any] = {
    "url": KEYWORD,
    "source": KEYWORD,
    "role": KEYWORD,  # article | thread_page
    "status": {"type": "short"},
    "etag": {"type": "keyword", "index": False},
    "last_modified": {"type": "keyword", "index": False},
    "next_url": {"type": "keyword", "index": False},
    "content_hash": KEYWORD,
    "doc_ids": KEYWORD,
    "fetched_at": DATE,
    # v2: adaptive revisits (index.pages.RevisitPolicy).
    "changed_at": DATE,
    "revisit_seconds": {"type": "float", "index": False},
}


RUN_PROPERTIES: dict[str, Any] = {
    "run_id": KEYWORD,
    "source": KEYWORD,
    "source_name": KEYWORD,
    "kind": KEYWORD,
    "started": DATE,
    "finished": DATE,
    "finish_reason": KEYWORD,
    "health": KEYWORD,  # ok | degraded | failed | interrupted
    "problems": KEYWORD,  # why the health is not ok, one short phrase each
    "host": KEYWORD,
    "pid": {"type": "integer"},
    "pages": {"type": "integer"},
    "bytes": {"type": "long"},
    "documents": {"type": "integer"},
    "created": {"type": "integer"},
    "updated": {"type": "integer"},
    "unchanged": {"type": "integer"},
    "not_modified": {"type": "integer"},
    "skipped_known": {"type": "integer"},
    "rejected": {"type": "integer"},
    "spooled": {"type": "integer"},
    "unreplayed": {"type": "integer"},  # spooled writes still in the spool when the run ended
    "robots_refused": {"type": "integer"},
    "empty_text": {"type": "integer"},
    "no_date": {"type": "integer"},
    "failures": {"type": "object", "dynamic": True},  # fetch outcome -> count (dns, timeout, http_500, ...)
    "failed_urls": {"type": "object", "enabled": False},  # [{url, reason}], the first ones, for people to look at
    "peak_rss_mb": {"type": "float"},  # the crawl process's peak memory
    "stats": {"type": "object", "enabled": False},  # Scrapy's raw statistics, kept as they were
}

LOCK_PROPERTIES: dict[str, Any] = {
    "name": KEYWORD,
    "owner": KEYWORD,
    "purpose": KEYWORD,
    "acquired": DATE,
    "heartbeat": DATE,
    "expires": DATE,
}


SUBSCRIPTION_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "owner": KEYWORD,
    "name": {**KEYWORD, "fields": {"text": TEXT}},
    "query": {"type": "keyword", "index": False},
    "filters": {"properties": {name: KEYWORD for name in ("sources", "kinds", "languages", "topics", "sentiments")}},
    "delivery": KEYWORD,  # instant | hourly | daily
    "daily_at": KEYWORD,  # HH:MM local, for daily digests
    "timezone": KEYWORD,
    "channels": {"type": "object", "enabled": False},
    "active": {"type": "boolean"},
    "notify_copies": {"type": "boolean"},
    "spike": {"type": "object", "enabled": False},
    "secret": {"type": "keyword", "index": False},
    "feed_token": KEYWORD,
    "created": DATE,
    "updated": DATE,
    "last_digest": DATE,  # end of the last digest period sent
    "last_spike_check": DATE,
    "channel_health": {"type": "object", "enabled": False},
}

NOTIFICATION_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "kind": KEYWORD,  # match | digest | spike
    "subscription_id": KEYWORD,
    "owner": KEYWORD,
    "delivery": KEYWORD,  # instant | hourly | daily (of a match: how it goes out)
    "doc_id": KEYWORD,
    "story": KEYWORD,
    "url": KEYWORD,
    "title": {**KEYWORD, "index": False},
    "source": KEYWORD,
    "published": DATE,
    "created": DATE,
    "status": KEYWORD,  # queued (waits for a digest) | pending (to send) | sent | failed | digested
    "digest_id": KEYWORD,
    "items": KEYWORD,  # a digest's match notifications
    "period_from": DATE,
    "period_to": DATE,
    "copies": KEYWORD,  # other outlets' URLs of the same story, matched later ("+N outlets")
    "channels": {"type": "object", "enabled": False},  # per channel: status, attempts, error, sent
    "attempts": {"type": "integer"},
    "next_attempt": DATE,
    "claimed_until": DATE,
    "last_error": {"type": "keyword", "index": False},
    "sent_at": DATE,
    "spike": {"type": "object", "enabled": False},
}

SCHEDULE_PROPERTIES: dict[str, Any] = {
    "source": KEYWORD,
    "schedule": KEYWORD,
    "next_due": DATE,
    "last_started": DATE,
    "last_finished": DATE,
    "last_exit": {"type": "integer"},
    "last_status": KEYWORD,
    "started_by": KEYWORD,
    "updated": DATE,
}


USER_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,  # the login name, lower case
    "display_name": {**KEYWORD, "fields": {"text": TEXT}},
    "email": KEYWORD,
    "role": KEYWORD,  # admin | analyst
    "password_hash": {"type": "keyword", "index": False},
    "active": {"type": "boolean"},
    "language": KEYWORD,  # vi | en
    "created": DATE,
    "updated": DATE,
    "last_login": DATE,
}

SESSION_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,  # sha256 of the cookie's token (the token itself is never stored)
    "user": KEYWORD,
    "csrf": {"type": "keyword", "index": False},
    "created": DATE,
    "expires": DATE,
    "last_seen": DATE,
    "ip": KEYWORD,
    "user_agent": {"type": "keyword", "index": False},
}

TOKEN_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,  # sha256 of the API token
    "user": KEYWORD,
    "name": KEYWORD,
    "hint": KEYWORD,  # the token's first characters, to recognise it in a list
    "created": DATE,
    "last_used": DATE,
    "revoked": {"type": "boolean"},
}

AUDIT_PROPERTIES: dict[str, Any] = {
    "time": DATE,
    "actor": KEYWORD,  # user id, or "-" for an anonymous attempt
    "action": KEYWORD,  # login, login_failed, logout, user.create, source.update, export, correction, ...
    "target": KEYWORD,
    "outcome": KEYWORD,  # ok | denied | failed
    "ip": KEYWORD,
    "details": {"type": "object", "enabled": False},
}

CORRECTION_PROPERTIES: dict[str, Any] = {
    "doc_id": KEYWORD,
    "url": KEYWORD,
    "title": {"type": "keyword", "index": False},
    "text": {"type": "text", "index": False},  # the text as corrected, for training exports
    "topic": KEYWORD,
    "sentiment": KEYWORD,
    "previous": {"properties": {"topic": KEYWORD, "sentiment": KEYWORD}},
    "by": KEYWORD,
    "at": DATE,
    "note": {"type": "keyword", "index": False},
}

SOURCE_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "name": {**KEYWORD, "fields": {"text": TEXT}},
    "kind": KEYWORD,
    "enabled": {"type": "boolean"},
    "config": {"type": "object", "enabled": False},  # the source as sources.yaml has it (validated on save)
    "origin": KEYWORD,  # file (from sources.yaml) | app (added or edited in the web app)
    "updated": DATE,
    "updated_by": KEYWORD,
}

REPORT_PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "owner": KEYWORD,
    "name": {**KEYWORD, "fields": {"text": TEXT}},
    "searches": {"type": "object", "enabled": False},  # [{label, query, filters}]
    "period": KEYWORD,  # daily | weekly
    "send_at": KEYWORD,  # HH:MM local (weekly: on Mondays)
    "recipients": KEYWORD,
    "timezone": KEYWORD,
    "created": DATE,
    "updated": DATE,
    "last_sent": DATE,
}


def _fold_author_and_section(source: dict[str, Any], version: int) -> dict[str, Any]:
    """docs v2 -> v3: author and section gain folded siblings."""
    from enrich.folding import fold

    if version < 3:
        for name in ("author", "section"):
            if isinstance(source.get(name), str) and source[name]:
                source[f"{name}_folded"] = fold(source[name])
    return source


@dataclass(frozen=True)
class IndexSpec:
    """A logical index: alias ``<prefix>-<name>`` over ``<prefix>-<name>-v<version>``.

    ``upgrade(source, from_version)`` turns a document of an older version into this one's shape when
    ``mediawatch index migrate`` copies it (None: documents copy unchanged)."""

    name: str
    version: int
    properties: dict[str, Any]
    upgrade: Callable[[dict[str, Any], int], dict[str, Any]] | None = None

    def alias(self, prefix: str) -> str:
        return f"{prefix}-{self.name}"

    def concrete(self, prefix: str, version: int | None = None) -> str:
        return f"{prefix}-{self.name}-v{version or self.version}"

    def version_of(self, prefix: str, concrete: str) -> int | None:
        """The schema version a concrete index name carries (``<prefix>-<name>-v3`` -> 3)."""
        head = f"{prefix}-{self.name}-v"
        tail = concrete.removeprefix(head)
        return int(tail) if concrete.startswith(head) and tail.isdigit() else None

    def template_body(self, settings: Settings) -> dict[str, Any]:
        return {
            "index_patterns": [f"{settings.index.prefix}-{self.name}-v*"],
            "version": self.version,
            "priority": 100,
            "_meta": {"managed_by": "mediawatch", "schema_version": self.version},
            "template": {
                "settings": {"number_of_shards": settings.index.shards, **replica_settings(settings)},
                "mappings": {
                    "dynamic": "strict",
                    "_meta": {"schema_version": self.version},
                    "properties": self.properties,
                },
            },
        }


def replica_settings(settings: Settings) -> dict[str, Any]:
    """``index.replicas`` when set; else one replica once the cluster has a second node, none before
    (``auto_expand_replicas: 0-1``), so a single node stays green and a cluster survives losing one."""
    replicas = settings.index.replicas
    return {"auto_expand_replicas": "0-1"} if replicas is None else {"number_of_replicas": replicas}


DOCS = IndexSpec("docs", 3, DOC_PROPERTIES, upgrade=_fold_author_and_section)
PAGES = IndexSpec("pages", 2, PAGE_PROPERTIES)
RUNS = IndexSpec("runs", 1, RUN_PROPERTIES)
LOCKS = IndexSpec("locks", 1, LOCK_PROPERTIES)
SUBSCRIPTIONS = IndexSpec("subscriptions", 1, SUBSCRIPTION_PROPERTIES)
NOTIFICATIONS = IndexSpec("notifications", 1, NOTIFICATION_PROPERTIES)
SCHEDULE = IndexSpec("schedule", 1, SCHEDULE_PROPERTIES)
USERS = IndexSpec("users", 1, USER_PROPERTIES)
SESSIONS = IndexSpec("sessions", 1, SESSION_PROPERTIES)
TOKENS = IndexSpec("tokens", 1, TOKEN_PROPERTIES)
AUDIT = IndexSpec("audit", 1, AUDIT_PROPERTIES)
CORRECTIONS = IndexSpec("corrections", 1, CORRECTION_PROPERTIES)
SOURCES = IndexSpec("sources", 1, SOURCE_PROPERTIES)
REPORTS = IndexSpec("reports", 1, REPORT_PROPERTIES)
ALL_SPECS = (DOCS, PAGES, RUNS, LOCKS, SUBSCRIPTIONS, NOTIFICATIONS, SCHEDULE, USERS, SESSIONS, TOKENS, AUDIT,
             CORRECTIONS, SOURCES, REPORTS)


def docs_alias(settings: Settings) -> str:
    return DOCS.alias(settings.index.prefix)


def pages_alias(settings: Settings) -> str:
    return PAGES.alias(settings.index.prefix)


def runs_alias(settings: Settings) -> str:
    return RUNS.alias(settings.index.prefix)


def locks_alias(settings: Settings) -> str:
    return LOCKS.alias(settings.index.prefix)


def subscriptions_alias(settings: Settings) -> str:
    return SUBSCRIPTIONS.alias(settings.index.prefix)


def notifications_alias(settings: Settings) -> str:
    return NOTIFICATIONS.alias(settings.index.prefix)


def schedule_alias(settings: Settings) -> str:
    return SCHEDULE.alias(settings.index.prefix)


def alias(settings: Settings, spec: IndexSpec) -> str:
    """The alias of ``spec`` under the configured prefix (``alias(settings, USERS)``)."""
    return spec.alias(settings.index.prefix)


@dataclass(frozen=True)
class SchemaState:
    """Where one logical index stands: the versions its alias points at (empty: not created yet)."""

    spec: IndexSpec
    alias: str
    versions: tuple[int, ...]

    @property
    def current(self) -> bool:
        return self.versions == (self.spec.version,)

    @property
    def missing(self) -> bool:
        return not self.versions

    @property
    def outdated(self) -> bool:
        return bool(self.versions) and max(self.versions) < self.spec.version

    @property
    def newer(self) -> bool:
        return bool(self.versions) and max(self.versions) > self.spec.version


def schema_state(
    client: Elasticsearch, settings: Settings, specs: Sequence[IndexSpec] = ALL_SPECS
) -> list[SchemaState]:
    """What each alias points at now."""
    prefix = settings.index.prefix
    states = []
    for spec in specs:
        alias = spec.alias(prefix)
        try:
            names = list(client.indices.get_alias(name=alias).keys())
        except NotFoundError:
            names = []
        versions = tuple(sorted(v for v in (spec.version_of(prefix, n) for n in names) if v is not None))
        states.append(SchemaState(spec, alias, versions))
    return states


def ensure_indices(client: Elasticsearch, settings: Settings, specs: Sequence[IndexSpec] = ALL_SPECS) -> dict[str, str]:
    """Create each missing index at its current version; never migrates. Idempotent and safe to run
    from several processes at once. Returns alias -> "created" or "exists".

    Raises SchemaOutdated when an alias points at an older version (``mediawatch index migrate`` moves
    it) or a newer one (written by a newer mediawatch)."""
    prefix = settings.index.prefix
    actions: dict[str, str] = {}
    for state in schema_state(client, settings, specs):
        spec = state.spec
        if state.outdated or state.newer:
            raise outdated_error(state, settings)
        if state.current:
            actions[state.alias] = "exists"
            continue
        client.indices.put_index_template(name=state.alias, **spec.template_body(settings))
        target = spec.concrete(prefix)
        try:
            client.indices.create(index=target, aliases={state.alias: {}})
        except BadRequestError as exc:
            if getattr(exc, "error", "") != "resource_already_exists_exception":
                raise
            client.indices.put_alias(index=target, name=state.alias)
        actions[state.alias] = "created"
    return actions


def outdated_error(state: SchemaState, settings: Settings) -> SchemaOutdated:
    found = ", ".join(f"v{v}" for v in state.versions)
    if state.newer:
        return SchemaOutdated(
            f"the index {state.alias} is at schema {found}, newer than this mediawatch knows "
            f"(v{state.spec.version}): upgrade mediawatch"
        )
    return SchemaOutdated(
        f"the index {state.alias} is at schema {found}; this version of mediawatch needs v{state.spec.version}: "
        "run `mediawatch index migrate` (writers are held off while it runs)"
    )
