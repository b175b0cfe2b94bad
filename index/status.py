"""What ``mediawatch status`` reports: the cluster, each index (schema version and counts), the spool,
a migration in progress, and each source's last run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import ApiError, TransportError

from index.client import describe_error, make_client
from index.mappings import ALL_SPECS, runs_alias, schema_state
from index.runs import last_run_per_source
from index.spool import Spool
from mediawatch.config import Settings


@dataclass
class IndexStatus:
    alias: str
    indices: list[str]
    version: str  # "v3", or "missing", or "v2 (needs v3: run mediawatch index migrate)"
    documents: int | None
    bytes: int | None
    current: bool


@dataclass
class Status:
    url: str
    reachable: bool
    reason: str | None = None
    health: str | None = None
    nodes: int | None = None
    indices: list[IndexStatus] = field(default_factory=list)
    spool: dict[str, Any] = field(default_factory=dict)
    migration: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    alerts: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, list[str]] = field(default_factory=dict)  # source -> what looks broken against its history

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def spool_of(settings: Settings) -> Spool:
    """The crawl spool of this index prefix."""
    return Spool(settings.data_dir / "spool" / settings.index.prefix, max_bytes=settings.index.spool_max_bytes)


def gather(settings: Settings) -> Status:
    """Everything the status command shows; a cluster that cannot be reached still gives the spool."""
    usage = spool_of(settings).usage()
    spool = {"directory": str(usage.directory), "segments": usage.segments, "bytes": usage.bytes,
             "pending_bytes": usage.pending_bytes, "max_bytes": usage.max_bytes}
    url = settings.es.effective_url
    client = make_client(settings).options(request_timeout=10, max_retries=0)
    try:
        health = client.cluster.health()
    except (TransportError, ApiError, OSError) as exc:
        return Status(url, False, describe_error(exc), spool=spool)
    status = Status(url, True, health=health["status"], nodes=health["number_of_nodes"], spool=spool)
    for state in schema_state(client, settings, ALL_SPECS):
        names = [state.spec.concrete(settings.index.prefix, v) for v in state.versions]
        docs = size = None
        if names:
            stats = client.indices.stats(index=",".join(names), metric="docs,store")
            total = stats["_all"]["primaries"]
            docs, size = total["docs"]["count"], total["store"]["size_in_bytes"]
        if state.missing:
            version = "missing"
        elif state.current:
            version = f"v{state.spec.version}"
        else:
            found = ",".join(f"v{v}" for v in state.versions)
            version = f"{found} (needs v{state.spec.version}: run mediawatch index migrate)"
        status.indices.append(IndexStatus(state.alias, names, version, docs, size, state.current))
    from index.migrate import migration_holder

    holder = migration_holder(client, settings)
    if holder is not None:
        status.migration = holder.describe() + (" (expired: its process died)" if holder.expired else "")
    status.runs = last_run_per_source(client, runs_alias(settings))
    status.flags = _history_flags(client, settings, status.runs)
    status.alerts = _alerts(client, settings)
    return status


def _history_flags(client: Any, settings: Settings, last_runs: list[dict[str, Any]]) -> dict[str, list[str]]:
    from index.runs import history_flags, recent_runs

    flags = {}
    for run in last_runs:
        history = recent_runs(client, runs_alias(settings), source=run["source"], size=11)[1:]
        found = history_flags(run, history)
        if found:
            flags[run["source"]] = found
    return flags


def _alerts(client: Any, settings: Settings) -> dict[str, Any]:
    """Subscriptions (active, paused), notifications waiting or failed, channels that keep failing."""
    from elasticsearch import NotFoundError

    from index.mappings import notifications_alias, subscriptions_alias

    try:
        subs = client.search(index=subscriptions_alias(settings), size=1000, query={"match_all": {}},
                             source=["name", "owner", "active", "channel_health"])["hits"]["hits"]
        counts = client.search(index=notifications_alias(settings), size=0,
                               aggs={"status": {"terms": {"field": "status", "size": 10}}})["aggregations"]
    except NotFoundError:
        return {}
    by_status = {b["key"]: b["doc_count"] for b in counts["status"]["buckets"]}
    failing = [{"name": h["_source"].get("name"), "owner": h["_source"].get("owner"), "channel": key,
                "error": state.get("last_error")}
               for h in subs for key, state in (h["_source"].get("channel_health") or {}).items()
               if state.get("failing")]
    return {"active": sum(1 for h in subs if h["_source"].get("active")),
            "paused": sum(1 for h in subs if not h["_source"].get("active")),
            "pending": by_status.get("pending", 0), "queued": by_status.get("queued", 0),
            "failed": by_status.get("failed", 0), "sent": by_status.get("sent", 0), "failing": failing}
