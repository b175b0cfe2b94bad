"""Keyword alerts end to end: subscriptions saved with the CLI, the local site crawled into the real node,
notifications delivered over a real SMTP conversation (aiosmtpd on loopback) and to a real HTTP receiver.
Digests and the SMTP outage are driven in-process with the time set by the test, not waited for."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from alerts.channels.webhook import verify_signature
from alerts.service import deliver_due, make_digests, run_matching
from alerts.subscriptions import new_subscription
from index.alertstore import NotificationLog, SubscriptionStore
from index.client import make_client
from index.mappings import docs_alias, notifications_alias, subscriptions_alias
from index.writer import BulkWriter
from mediawatch.config import Settings
from tests.conftest import Cluster, delete_prefix, free_port, run_cli
from tests.site import serve, sources_yaml

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class Sink:
    """An SMTP server on loopback that keeps what it receives; can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


class Receiver:
    """A webhook receiver on loopback: every POST's headers and body."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _text(message: email.message.EmailMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    return plain.get_content() if plain is not None else ""


def _html(message: email.message.EmailMessage) -> str:
    html = message.get_body(preferencelist=("html",))
    return html.get_content() if html is not None else ""


@pytest.fixture(scope="module")
def world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    prefix = f"mwalert-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path_factory.mktemp("alerts")
    sink, receiver = Sink(), Receiver()
    sink.start()
    with serve(now=datetime.now(UTC)) as site:
        catalog = site.site.catalog
        sources = data_dir / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url), encoding="utf-8")
        env = cluster.env(prefix, data_dir, MEDIAWATCH_ALERTS__SMTP_PORT=str(sink.port),
                          MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources))
        one = catalog.cp1258  # a sentence found in exactly one document
        syndicated = catalog.syndicated
        daily_at = (datetime.now(ZONE) + timedelta(hours=3)).strftime("%H:%M")

        def add(*args: str) -> None:
            result = run_cli("alerts", "add", *args, env=env)
            assert result.returncode == 0, result.stderr

        add("--name", "one", "--query", f'"{one.sentence}"', "--email", "one@example.vn", "--webhook", receiver.url)
        add("--name", "nothing", "--query", "zzqxyqq", "--email", "nothing@example.vn")
        add("--name", "daily", "--query", '"Bắc Ninh"', "--daily", daily_at, "--email", "daily@example.vn")
        original = site.site.pages[syndicated.original].body.decode("utf-8", "replace")
        title = original.split("<h1", 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
        add("--name", "copies", "--query", f'"{title}"', "--kind", "news", "--email", "copies@example.vn")

        first = run_cli("crawl", "bacninh-news", "--json", env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        after_first = list(sink.messages), list(receiver.calls)
        second = run_cli("crawl", "bacninh-news", "--json", env=env)
        assert second.returncode == 0, second.stderr[-3000:]
        after_second = list(sink.messages)
        page = site.site.pages[one.path]  # the article is updated: new text, same sentence
        changed = page.body.replace(b"</p>", b" (Cap nhat).</p>", 1)  # ASCII: the page is windows-1258
        site.site.pages[one.path] = replace(page, body=changed, last_modified=datetime.now(UTC))
        forced = {**env, "MEDIAWATCH_CRAWL__REVISIT_MIN_HOURS": "0", "MEDIAWATCH_CRAWL__REVISIT_MAX_HOURS": "0"}
        third = run_cli("crawl", "bacninh-news", "--json", env=forced)
        assert third.returncode == 0, third.stderr[-3000:]
        shown = json.loads(run_cli("alerts", "show", "one", "--json", env=env).stdout)
        yield {"env": env, "sink": sink, "receiver": receiver, "catalog": catalog, "prefix": prefix,
               "data_dir": data_dir, "cluster": cluster, "after_first": after_first, "after_second": after_second,
               "third": json.loads(third.stdout), "one": one, "syndicated": syndicated, "site": site,
               "secret": shown["secret"], "daily_at": daily_at, "first_stderr": first.stderr}
    sink.stop()
    receiver.stop()
    delete_prefix(cluster.url, prefix)


def test_exactly_one_email_and_one_webhook_call_for_a_matching_alert(world) -> None:
    messages, calls = world["after_first"]
    to_one = [m for rcpt, m in messages if "one@example.vn" in rcpt]
    assert len(to_one) == 1, world["first_stderr"][-3000:]
    message = to_one[0]
    url = world["catalog"].article(world["one"].path).url
    assert url in _text(message) and url in _html(message)
    assert "<mark>" in _html(message)
    assert message["Message-ID"] and message["X-Mediawatch-Notification-Id"]
    assert len(calls) == 1
    headers, body = calls[0]
    payload = json.loads(body)
    assert payload["items"][0]["url"] == url
    assert payload["notification_id"] == message["X-Mediawatch-Notification-Id"]
    assert verify_signature(world["secret"], headers["x-mediawatch-timestamp"], body,
                            headers["x-mediawatch-signature"])
    assert not verify_signature(world["secret"], headers["x-mediawatch-timestamp"], body + b" ",
                                headers["x-mediawatch-signature"])


def test_a_non_matching_alert_sends_nothing(world) -> None:
    assert not world["sink"].to("nothing@example.vn")


def test_recrawl_and_an_updated_article_send_nothing_more(world) -> None:
    messages, _ = world["after_first"]
    assert len(world["after_second"]) == len(messages)
    news = next(r for r in world["third"] if r["source"] == "bacninh-news")
    assert news["updated"] >= 1  # the changed article was written again
    assert len(world["sink"].to("one@example.vn")) == 1
    assert len(world["receiver"].calls) == 1


def test_a_syndicated_copy_is_mentioned_not_notified_again(world) -> None:
    to_copies = world["sink"].to("copies@example.vn")
    assert len(to_copies) == 1
    settings = world["cluster"].settings(world["prefix"], world["data_dir"])
    client = make_client(settings)
    sub = SubscriptionStore(client, subscriptions_alias(settings)).find(name="copies")[0]
    records = NotificationLog(client, notifications_alias(settings)).recent(subscription_id=sub["id"])
    assert len(records) == 1 and len(records[0]["copies"]) == 1
    urls = {records[0]["url"], records[0]["copies"][0]}
    base = world["site"].base_url
    assert urls == {base + world["syndicated"].original, base + world["syndicated"].path}
    assert "+1" in _text(to_copies[0])


def test_a_daily_digest_bundles_the_matches_into_one_email_at_its_local_time(world) -> None:
    settings = Settings(es={"url": world["cluster"].url}, index={"prefix": world["prefix"]},
                        data_dir=world["data_dir"], alerts={"smtp_port": world["sink"].port})
    client = make_client(settings)
    sub = SubscriptionStore(client, subscriptions_alias(settings)).find(name="daily")[0]
    queued = NotificationLog(client, notifications_alias(settings)).queued(sub["id"], datetime.now(UTC) + timedelta(1))
    assert len(queued) >= 3
    hour, minute = (int(x) for x in world["daily_at"].split(":"))
    at = datetime.now(ZONE).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at < datetime.now(ZONE):
        at += timedelta(days=1)
    assert not world["sink"].to("daily@example.vn")
    make_digests(client, settings, now=at - timedelta(minutes=1))  # not yet
    deliver_due(client, settings, now=at - timedelta(minutes=1))
    assert not world["sink"].to("daily@example.vn")
    make_digests(client, settings, now=at + timedelta(minutes=1))
    deliver_due(client, settings, now=at + timedelta(minutes=1))
    make_digests(client, settings, now=at + timedelta(minutes=2))  # the same period again: nothing new
    deliver_due(client, settings, now=at + timedelta(minutes=2))
    digests = world["sink"].to("daily@example.vn")
    assert len(digests) == 1
    text = _text(digests[0])
    listed = sum(1 for record in queued if record["url"] in text)
    assert listed == min(len(queued), settings.alerts.digest_max_items)  # the rest are counted, not listed
    assert str(len(queued)) in digests[0]["Subject"]


def test_smtp_down_then_back_the_notification_arrives_once(world) -> None:
    sink, cluster = world["sink"], world["cluster"]
    settings = Settings(es={"url": cluster.url}, index={"prefix": world["prefix"]}, data_dir=world["data_dir"],
                        alerts={"smtp_port": sink.port, "retry_base_seconds": 60})
    client = make_client(settings)
    now = datetime.now(UTC)
    sub = new_subscription(owner="admin", name="outage", query="mưa đá", timezone="Asia/Ho_Chi_Minh",
                           channel_configs=[{"type": "email", "to": "outage@example.vn"}], now=now - timedelta(days=1))
    SubscriptionStore(client, subscriptions_alias(settings)).create(sub.to_doc())
    writer = BulkWriter(client)
    doc = {"id": "hail-1", "url": "http://x.test/mua-da", "source": "bacninh-news", "kind": "news",
           "title": "Mưa đá ở Gia Bình", "text": "Chiều qua mưa đá làm hỏng mái nhà ở Gia Bình.",
           "text_folded": "chieu qua mua da lam hong mai nha o gia binh", "title_folded": "mua da o gia binh",
           "published": now.isoformat(), "first_seen": now.isoformat(), "changed_at": now.isoformat(),
           "alert_pending": True}
    writer.add(docs_alias(settings), doc["id"], doc)
    writer.flush(refresh=True)
    assert run_matching(client, settings, now=now).notifications == 1
    sink.stop()
    try:
        down = deliver_due(client, settings, now=now)
        assert down.retrying == 1 and down.sent == 0
        assert deliver_due(client, settings, now=now + timedelta(seconds=1)).retrying == 0  # not due yet
    finally:
        sink.start()
    assert not sink.to("outage@example.vn")
    back = deliver_due(client, settings, now=now + timedelta(hours=2))
    assert back.sent == 1
    assert deliver_due(client, settings, now=now + timedelta(hours=3)).sent == 0
    assert len(sink.to("outage@example.vn")) == 1
    record = NotificationLog(client, notifications_alias(settings)).recent(subscription_id=sub.id)[0]
    assert record["status"] == "sent" and record["attempts"] == 2
    listed = run_cli("alerts", "list", env=world["env"])
    assert listed.returncode == 0 and "outage" in listed.stdout and "failing" not in listed.stdout


def test_bad_alert_input_is_one_line_and_saves_nothing(world) -> None:
    env = world["env"]
    cases = [
        (["--name", "x", "--query", "AND OR (", "--email", "a@b.vn"], "query syntax error"),
        (["--name", "x", "--query", "lũ", "--source", "nowhere", "--email", "a@b.vn"], "unknown source 'nowhere'"),
        (["--name", "x", "--query", "lũ", "--email", "not-an-address"], "not-an-address"),
        (["--name", "x", "--query", "lũ", "--webhook", "ftp://x"], "must start with http:// or https://"),
        (["--name", "x", "--query", "lũ", "--daily", "25:00", "--email", "a@b.vn"], "25:00"),
        (["--name", "x", "--query", "lũ"], "needs somewhere to go"),
        (["--name", "one", "--query", "lũ", "--email", "a@b.vn"], "already has an alert named 'one'"),
    ]
    for args, needle in cases:
        result = run_cli("alerts", "add", *args, env=env)
        assert result.returncode != 0, args
        assert result.stderr.strip().count("\n") == 0 and needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    names = [s["name"] for s in json.loads(run_cli("alerts", "list", "--json", env=env).stdout)]
    assert names.count("one") == 1 and "x" not in names


def test_alerts_test_prints_the_documents_that_would_have_matched(world) -> None:
    """One line per document with its URL: exactly what `mediawatch search` returns for the same query and
    filters over the same days."""
    result = run_cli("alerts", "test", "daily", "--days", "30", "--limit", "1000", env=world["env"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) >= 3 and all(" http" in line for line in lines)
    since = (datetime.now(ZONE) - timedelta(days=29)).date().isoformat()
    searched = run_cli("search", '"Bắc Ninh"', "--from", since, "--limit", "1000", env=world["env"])
    assert searched.returncode == 0, searched.stderr
    expected = {json.loads(line)["url"] for line in searched.stdout.splitlines()}
    assert {line.rsplit(" ", 1)[1] for line in lines} == expected


def test_alerts_log_shows_what_was_sent(world) -> None:
    result = run_cli("alerts", "log", "one", "--json", env=world["env"])
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 1 and records[0]["status"] == "sent"
    assert {state["status"] for state in records[0]["channels"].values()} == {"sent"}


def test_status_flags_a_channel_that_keeps_failing(world, tmp_path: Path) -> None:
    settings = Settings(es={"url": world["cluster"].url}, index={"prefix": world["prefix"]},
                        data_dir=world["data_dir"], alerts={"smtp_port": free_port(), "failing_after": 2,
                                                             "retry_base_seconds": 1})
    client = make_client(settings)
    now = datetime.now(UTC)
    sub = new_subscription(owner="admin", name="broken", query="sấm sét", timezone="Asia/Ho_Chi_Minh",
                           channel_configs=[{"type": "email", "to": "broken@example.vn"}], now=now - timedelta(days=1))
    SubscriptionStore(client, subscriptions_alias(settings)).create(sub.to_doc())
    writer = BulkWriter(client)
    for i in range(2):
        doc = {"id": f"storm-{i}", "url": f"http://x.test/sam-set-{i}", "source": "bacninh-news", "kind": "news",
               "title": f"Sấm sét {i}", "text": "Sấm sét đánh gãy cây ở Quế Võ.",
               "text_folded": "sam set danh gay cay o que vo",
               "title_folded": f"sam set {i}", "published": now.isoformat(), "first_seen": now.isoformat(),
               "changed_at": now.isoformat(), "alert_pending": True}
        writer.add(docs_alias(settings), doc["id"], doc)
    writer.flush(refresh=True)
    run_matching(client, settings, now=now)
    deliver_due(client, settings, now=now)
    listed = run_cli("alerts", "list", env={**world["env"], "MEDIAWATCH_ALERTS__FAILING_AFTER": "2"})
    assert "failing" in listed.stdout and "broken@example.vn" in listed.stdout
    status = run_cli("status", env=world["env"])
    assert "broken" in status.stdout and "failing" in status.stdout
