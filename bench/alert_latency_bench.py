"""Alert latency: from a document being indexed to its instant e-mail being accepted by the SMTP server.

    .venv/bin/python -m bench.alert_latency_bench [--documents 100] [--subscriptions 1000]

A throw-away index prefix gets ``--subscriptions`` active alerts (the realistic mix of ``bench.match_bench``,
drawn from the VNTC corpus and the official place names) plus one instant e-mail alert per document, each
on a phrase only that document carries. Then, one document at a time: the document is written as a crawl
writes it (``alert_pending``, acknowledged by the cluster) and the alert pass the crawl runs after its
writes (``alerts.service.run_pass``) matches and delivers it to a local SMTP server (aiosmtpd on loopback),
which stamps the time it accepted the message. Prints the p50 and p95 of indexed → accepted, and the same
for the pass alone, for a crawl's pass (even documents: the matcher built for the pass, as in the crawl's own
process) and for the scheduler's (odd documents: one matcher kept across passes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from alerts.service import Stores, default_matcher, run_pass
from alerts.subscriptions import new_subscription
from index.client import make_client
from index.mappings import docs_alias, ensure_indices
from index.writer import BulkWriter
from mediawatch.config import Settings


class Sink:
    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.accepted: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.accepted[envelope.rcpt_tos[0]] = time.monotonic()
        return "250 OK"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=1000)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    es_url = os.environ.get("MEDIAWATCH_ES_URL")
    if not es_url:
        from index import node
        from mediawatch.config import load_settings

        es_url = node.ensure_started(load_settings(), log=lambda *a: None)
    prefix = f"bench-latency-{uuid.uuid4().hex[:6]}"
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings = Settings(es={"url": es_url}, index={"prefix": prefix}, alerts={"smtp_port": sink.port})
    client = make_client(settings)
    ensure_indices(client, settings)
    stores = Stores(client, settings)
    past = datetime.now(UTC) - timedelta(days=1)
    try:
        from elasticsearch import helpers

        background = []
        for i, (query, filters) in enumerate(_background(args.subscriptions)):
            sub = new_subscription(owner="bench", name=f"bg-{i}", query=query, filters=filters,
                                   timezone="Asia/Ho_Chi_Minh",
                                   channel_configs=[{"type": "email", "to": f"bg{i}@bench.local"}], now=past)
            background.append({"_index": f"{prefix}-subscriptions", "_id": sub.id, "_source": sub.to_doc()})
        helpers.bulk(client, background)
        for i in range(args.documents):
            sub = new_subscription(owner="bench", name=f"doc-{i}", query=f'"mã tin {i:05d}"',
                                   timezone="Asia/Ho_Chi_Minh",
                                   channel_configs=[{"type": "email", "to": f"doc{i}@bench.local"}], now=past)
            stores.subscriptions.create(sub.to_doc())
        client.indices.refresh(index=f"{prefix}-subscriptions")
        # Even documents: a crawl's pass (its own process: the matcher is built for the pass). Odd documents:
        # the scheduler's pass (one matcher kept for the process's life, alerts.service.default_matcher).
        kept = default_matcher(client, settings)
        total: dict[bool, list[float]] = {False: [], True: []}
        passes: dict[bool, list[float]] = {False: [], True: []}
        writer = BulkWriter(client, batch_size=1)
        from enrich.folding import fold

        for i in range(args.documents):
            now = datetime.now(UTC).isoformat()
            text = f"Tin nhanh mã tin {i:05d}: mưa lớn gây ngập cục bộ ở phường Đại Phúc, thành phố Bắc Ninh."
            writer.add(docs_alias(settings), f"lat-{i}", {
                "id": f"lat-{i}", "url": f"http://bench.local/{i}", "source": "bench", "kind": "news",
                "title": f"Tin {i}", "title_folded": f"tin {i}", "text": text, "text_folded": fold(text),
                "published": now, "first_seen": now, "crawled_at": now, "changed_at": now, "alert_pending": True,
            })
            writer.flush()
            keep = i % 2 == 1
            indexed = time.monotonic()
            run_pass(client, settings, matcher=kept if keep else None)
            passes[keep].append(time.monotonic() - indexed)
            accepted = sink.accepted.get(f"doc{i}@bench.local")
            if accepted is None:
                raise SystemExit(f"document {i}: no e-mail was accepted")
            total[keep].append(accepted - indexed)
        kept.close()
        print(f"{args.documents} documents, {args.subscriptions} background alerts + one per document")
        print("| pass | indexed → e-mail accepted p50 | p95 | the pass (match, record, deliver) p50 | p95 |")
        print("|---|---|---|---|---|")
        for keep, name in ((False, "a crawl's (matcher built for the pass)"), (True, "the scheduler's (matcher kept)")):
            print(f"| {name} | {statistics.median(total[keep]) * 1000:.0f} ms | "
                  f"{percentile(total[keep], 0.95) * 1000:.0f} ms | {statistics.median(passes[keep]) * 1000:.0f} ms | "
                  f"{percentile(passes[keep], 0.95) * 1000:.0f} ms |")
    finally:
        controller.stop()
        raw = Elasticsearch(es_url)
        for name in raw.indices.get(index=f"{prefix}-*"):
            raw.indices.delete(index=name)


def _background(count: int) -> list[tuple[str, object]]:
    """The match bench's realistic mix of staff alerts (words, phrases, places, prefixes, OR, NOT, filters)."""
    import random

    from alerts.subscriptions import Filters
    from bench.match_bench import generate_subscriptions, read_corpus

    rng = random.Random(20261201)
    subs = generate_subscriptions(count, read_corpus(3000, rng), rng)
    return [(s.query, Filters(sources=list(s.sources), kinds=list(s.kinds), languages=list(s.languages),
                              topics=list(s.topics), sentiments=list(s.sentiments))) for s in subs]


if __name__ == "__main__":
    main()
