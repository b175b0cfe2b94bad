"""``mediawatch index migrate``: move every index to its current schema version, safely.

For each alias that points at an older version, under the ``schema-migration`` lease
(:mod:`index.locks`, so two migrations never run at once):

1. create ``<prefix>-<name>-v<new>`` from the current template;
2. put a **write block** on the old index, then refresh it: from here writers (crawls) get HTTP 403
   ``cluster_block_exception``, which :func:`index.writer.send_actions` treats as "held off" and retries
   with backoff; everything written before the block is in what the copy reads;
3. copy the old documents (scan + bulk: the local node has no reindex module), each passed through the
   spec's ``upgrade`` function;
4. swap the alias atomically; the held-off writers' retries now land in the new index.

Nothing written during a migration is lost. The old index stays, read-only, until ``--delete-old``
(or a person) removes it. A migration that dies half-way leaves the lease to expire; the next run
takes it over and does the remaining work again (every step is idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from elasticsearch import BadRequestError, Elasticsearch, helpers

from index.locks import Lease
from index.mappings import ALL_SPECS, LOCKS, IndexSpec, SchemaState, ensure_indices, locks_alias, schema_state
from mediawatch.config import Settings
from mediawatch.errors import UserError

LEASE_NAME = "schema-migration"
LEASE_TTL = 120.0
HEARTBEAT_EVERY = 20.0


class MigrationInProgress(UserError):
    """Another process holds the migration lease."""

    exit_code = 3


@dataclass
class MigrationStep:
    alias: str
    action: str  # created | up to date | migrated
    from_indices: tuple[str, ...] = ()
    to_index: str = ""
    copied: int = 0


Log = Callable[[str], None]


def migrate(
    client: Elasticsearch,
    settings: Settings,
    *,
    specs: tuple[IndexSpec, ...] = ALL_SPECS,
    wait: float = 0.0,
    batch_size: int = 500,
    delete_old: bool = False,
    log: Log = lambda message: None,
    on_copied: Callable[[int], None] | None = None,
) -> list[MigrationStep]:
    """Bring every index in ``specs`` to its version (see module docstring). Waits up to ``wait`` seconds
    for another migration to end, else raises MigrationInProgress naming who holds the lease."""
    ensure_indices(client, settings, specs=(LOCKS,))
    lease = Lease(client, locks_alias(settings), LEASE_NAME, purpose="mediawatch index migrate", ttl=LEASE_TTL)
    deadline = time.monotonic() + wait
    announced = False
    while (holder := lease.try_acquire()) is not None:
        if time.monotonic() >= deadline:
            raise MigrationInProgress(
                f"another migration is in progress ({holder.describe()}); wait for it, or pass --wait SECONDS"
            )
        if not announced:
            log(f"waiting for another migration to finish ({holder.describe()})…")
            announced = True
        time.sleep(1.0)
    try:
        steps = []
        for state in schema_state(client, settings, specs):
            target = state.spec.concrete(settings.index.prefix)
            if state.missing:
                ensure_indices(client, settings, specs=(state.spec,))
                steps.append(MigrationStep(state.alias, "created", to_index=target))
            elif state.current:
                steps.append(MigrationStep(state.alias, "up to date", to_index=target))
            elif state.newer:
                from index.mappings import outdated_error

                raise outdated_error(state, settings)
            else:
                steps.append(_migrate_one(client, settings, state, lease, batch_size, delete_old, log, on_copied))
        return steps
    finally:
        lease.release()


def migration_holder(client: Elasticsearch, settings: Settings):
    """Who is migrating now, or None (for status lines and crawl refusals)."""
    from elasticsearch import NotFoundError

    try:
        return Lease(client, locks_alias(settings), LEASE_NAME, purpose="").holder()
    except NotFoundError:
        return None


def _migrate_one(
    client: Elasticsearch,
    settings: Settings,
    state: SchemaState,
    lease: Lease,
    batch_size: int,
    delete_old: bool,
    log: Log,
    on_copied: Callable[[int], None] | None,
) -> MigrationStep:
    spec, prefix = state.spec, settings.index.prefix
    target = spec.concrete(prefix)
    olds = tuple(spec.concrete(prefix, v) for v in state.versions)
    client.indices.put_index_template(name=state.alias, **spec.template_body(settings))
    try:
        client.indices.create(index=target)
    except BadRequestError as exc:
        if getattr(exc, "error", "") != "resource_already_exists_exception":
            raise
    for old in olds:
        client.indices.add_block(index=old, block="write")
        client.indices.refresh(index=old)
        log(f"{state.alias}: writers held off {old} (write block) while it is copied")
    copied = 0
    beat = time.monotonic()
    for old, version in zip(olds, state.versions, strict=True):
        total = client.count(index=old)["count"]
        log(f"{state.alias}: copying {total} documents from {old} (v{version}) to {target} (v{spec.version})")

        def actions(old: str = old, version: int = version):
            for hit in helpers.scan(client, index=old, query={"query": {"match_all": {}}}, size=batch_size):
                source = spec.upgrade(hit["_source"], version) if spec.upgrade else hit["_source"]
                yield {"_op_type": "index", "_index": target, "_id": hit["_id"], "_source": source}

        for _ in helpers.streaming_bulk(client, actions(), chunk_size=batch_size, raise_on_error=True):
            copied += 1
            if copied % batch_size == 0:
                if on_copied:
                    on_copied(copied)
                if time.monotonic() - beat > HEARTBEAT_EVERY:
                    lease.heartbeat()
                    beat = time.monotonic()
    client.indices.refresh(index=target)
    client.indices.update_aliases(
        actions=[{"remove": {"index": old, "alias": state.alias}} for old in olds]
        + [{"add": {"index": target, "alias": state.alias}}]
    )
    log(f"{state.alias}: now on {target} ({copied} documents copied)")
    if delete_old:
        client.indices.delete(index=",".join(olds))
        log(f"{state.alias}: deleted {', '.join(olds)}")
    return MigrationStep(state.alias, "migrated", olds, target, copied)
