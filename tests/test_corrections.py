"""Corrections that teach the model, end to end against a real Elasticsearch node, the local test site (kept
running, so it can change and be crawled again), the CLI and the running app in a real headless Chromium: a
staff member corrects a document's topic and sentiment on the document view; the correction is stored with who
and when, shown instead of the models' tags, found by search filters (page, API and CLI), audited, kept through a
re-crawl of the changed article with forced revisits and through ``enrich backfill --force``, and exported as
JSONL that ``mediawatch enrich train`` trains on."""
# ruff: noqa: F811  (pytest fixtures imported from tests.webapp are redefined as test arguments)

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.conftest import Cluster, delete_prefix, run_cli
from tests.site import serve, sources_yaml
from tests.webapp import USERS, WebWorld, audit_entries, browser, live_app, login, page, pages  # noqa: F401

STATE: dict = {}


@pytest.fixture(scope="module")
def web_world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    """The test site's news crawled and tagged into a fresh prefix, the site left running (``world.server``)."""
    from index.client import make_client
    from index.users import AuditLog, UserStore, ensure_user_indices
    from web.accounts import create_user

    prefix = f"mwcorr-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path_factory.mktemp("corrections")
    try:
        with serve(now=datetime.now(UTC)) as server:
            sources = data_dir / "sources.yaml"
            sources.write_text(sources_yaml(server.base_url), encoding="utf-8")
            env = cluster.env(prefix, data_dir, MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources))
            result = run_cli("crawl", "bacninh-news", "--json", env=env)
            assert result.returncode == 0, result.stderr[-3000:]
            world = WebWorld(cluster, prefix, data_dir, sources, server.base_url, server.site.catalog, True, env)
            world.server = server  # type: ignore[attr-defined]
            settings = world.settings()
            client = make_client(settings)
            ensure_user_indices(client, settings)
            users, audit_log = UserStore.of(client, settings), AuditLog.of(client, settings)
            for name, spec in USERS.items():
                create_user(users, audit_log, name=name, password=spec["password"], role=spec["role"],
                            min_length=8, actor="test", display_name=spec["display_name"])
            yield world
    finally:
        delete_prefix(cluster.url, prefix)


def stored(live, doc_id: str) -> dict:
    return live.ctx.client.get(index=f"{live.settings.index.prefix}-docs", id=doc_id)["_source"]


def cli_json(live, *args: str) -> dict:
    result = run_cli(*args, "--json", env=live.world.env)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def pick_document(live) -> dict:
    """A tagged Vietnamese news article of the plain kind (not one of the site's special pages)."""
    specials = {s.path for s in live.world.catalog.specials.values()} | {
        s.original for s in live.world.catalog.specials.values() if s.original}
    with live.http("analyst1") as http:
        hits = http.get("/api/search", params={"kind": "news", "language": "vi", "sort": "date", "size": 50}).json()
    for hit in hits["hits"]:
        if hit["topic"] not in (None, "unknown") and urlsplit(hit["url"]).path not in specials:
            return hit
    raise AssertionError("no tagged article")


def test_correcting_a_document_in_the_browser(page, live_app) -> None:
    from web.routes.documents import correctable

    hit = pick_document(live_app)
    before = stored(live_app, hit["id"])
    topics, sentiments = correctable(live_app.ctx)
    assert topics and "unknown" not in topics and "unknown" not in sentiments
    new_topic = next(t for t in topics if t != before["topic"])
    new_sentiment = next(s for s in sentiments if s != before["sentiment"]["label"])
    STATE.update(doc_id=hit["id"], url=hit["url"], title=hit["title"], topic=new_topic, sentiment=new_sentiment,
                 model_topic=before["topic"], model_sentiment=before["sentiment"]["label"],
                 enriched_at=before["enriched_at"])

    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/documents/{hit['id']}")
    assert page.locator("[data-testid=corrected-note]").count() == 0
    page.locator("#c-topic").select_option(new_topic)
    page.locator("#c-sentiment").select_option(new_sentiment)
    page.locator("#c-note").fill("Bài về thể thao, không phải thời sự")
    with page.expect_navigation():
        page.locator("[data-testid=correction-form] button[type=submit]").click()
    assert urlsplit(page.url).path == f"/documents/{hit['id']}" and "corrected=1" in page.url
    assert page.locator("[data-testid=correction-saved]").inner_text() == "Đã lưu nhãn đã sửa."
    from enrich.labels import sentiment_name, topic_name

    assert page.locator("[data-testid=topic-badge]").inner_text() == f"{topic_name(new_topic)} (đã sửa)"
    assert page.locator("[data-testid=sentiment-badge]").inner_text() == f"{sentiment_name(new_sentiment)} (đã sửa)"
    note = page.locator("[data-testid=corrected-note]").inner_text()
    assert "đã sửa bởi Nguyễn Văn An lúc" in note and topic_name(before["topic"]) in note
    assert page.locator("#c-topic").input_value() == new_topic  # the form starts from the corrected tags

    doc = stored(live_app, hit["id"])
    assert doc["topic"] == new_topic and doc["sentiment"]["label"] == new_sentiment
    assert doc["corrected"]["topic"] == new_topic and doc["corrected"]["by"] == "analyst1"
    assert doc["model_tags"] == {"topic": before["topic"], "sentiment": before["sentiment"]["label"]}
    assert doc["topics"] == before["topics"]  # the models' scores are kept
    client = live_app.ctx.client
    client.indices.refresh(index=f"{live_app.settings.index.prefix}-corrections")
    records = [h["_source"] for h in client.search(index=f"{live_app.settings.index.prefix}-corrections",
                                                   query={"term": {"doc_id": hit["id"]}})["hits"]["hits"]]
    assert len(records) == 1
    record = records[0]
    assert (record["topic"], record["sentiment"], record["by"]) == (new_topic, new_sentiment, "analyst1")
    assert record["previous"] == {"topic": before["topic"], "sentiment": before["sentiment"]["label"]}
    assert record["note"] == "Bài về thể thao, không phải thời sự" and record["text"] == before["text"]
    assert abs((datetime.now(UTC) - datetime.fromisoformat(record["at"])).total_seconds()) < 120

    entries = audit_entries(live_app, action="correction", actor="analyst1")
    assert entries and entries[0]["target"] == hit["id"]
    assert entries[0]["details"]["topic"] == {"from": before["topic"], "to": new_topic}
    assert entries[0]["details"]["sentiment"] == {"from": before["sentiment"]["label"], "to": new_sentiment}


def test_search_finds_the_document_under_its_corrected_tags(live_app) -> None:
    doc_id, title = STATE["doc_id"], STATE["title"]
    with live_app.http("analyst1") as http:
        found = http.get("/api/search", params={"q": f'"{title}"', "topic": STATE["topic"]}).json()
        assert doc_id in [h["id"] for h in found["hits"]]
        assert next(h for h in found["hits"] if h["id"] == doc_id)["sentiment"] == STATE["sentiment"]
        old = http.get("/api/search", params={"q": f'"{title}"', "topic": STATE["model_topic"]}).json()
        assert doc_id not in [h["id"] for h in old["hits"]]
    cli = cli_json(live_app, "search", f'"{title}"', "--topic", STATE["topic"])
    assert doc_id in [h["id"] for h in cli["hits"]]
    by_sentiment = cli_json(live_app, "search", f'"{title}"', "--sentiment", STATE["sentiment"])
    assert doc_id in [h["id"] for h in by_sentiment["hits"]]


def test_bad_corrections_are_refused(page, live_app) -> None:
    doc_id = STATE["doc_id"]
    with live_app.http("analyst2") as http:
        wrong = http.post(f"/api/documents/{doc_id}/correction", json={"topic": "astrology"})
        assert wrong.status_code == 400 and "astrology" in wrong.json()["detail"]
        assert http.post(f"/api/documents/{doc_id}/correction", json={"sentiment": "unknown"}).status_code == 400
        same = http.post(f"/api/documents/{doc_id}/correction", json={"topic": STATE["topic"]})
        assert same.status_code == 400  # nothing changed
        assert http.post("/api/documents/nope/correction", json={"topic": STATE["topic"]}).status_code == 404
    login(page, live_app, "analyst2")
    forged = page.request.post(f"{live_app.url}/documents/{doc_id}/correction",
                               form={"topic": STATE["model_topic"]}, max_redirects=0)
    assert forged.status == 403  # no CSRF token
    assert stored(live_app, doc_id)["topic"] == STATE["topic"]


def test_the_correction_survives_a_recrawl_of_the_changed_article(live_app) -> None:
    server = live_app.world.server
    path = urlsplit(STATE["url"]).path
    article = server.site.pages[path]
    changed = article.body.replace(b"</p>", " (Cập nhật lúc 10 giờ).</p>".encode(), 1)
    assert changed != article.body
    server.site.pages[path] = replace(article, body=changed, last_modified=datetime.now(UTC))
    forced = {**live_app.world.env, "MEDIAWATCH_CRAWL__REVISIT_MIN_HOURS": "0",
              "MEDIAWATCH_CRAWL__REVISIT_MAX_HOURS": "0"}
    result = run_cli("crawl", "bacninh-news", "--json", env=forced)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)[0]["updated"] >= 1
    doc = stored(live_app, STATE["doc_id"])
    assert "Cập nhật lúc 10 giờ" in doc["text"]  # rewritten from the changed page ...
    assert doc["enriched_at"] > STATE["enriched_at"]  # ... and tagged again by the models
    assert doc["topic"] == STATE["topic"] and doc["sentiment"]["label"] == STATE["sentiment"]
    assert doc["corrected"]["by"] == "analyst1" and doc["corrected"]["topic"] == STATE["topic"]
    assert doc["model_tags"]["topic"] == doc["topics"][0]["label"]  # the models' fresh view, kept aside
    STATE["enriched_at"] = doc["enriched_at"]


def test_the_correction_survives_backfill_force(page, live_app) -> None:
    result = run_cli("enrich", "backfill", "--force", env=live_app.world.env)
    assert result.returncode == 0, result.stderr[-3000:]
    doc = stored(live_app, STATE["doc_id"])
    assert doc["enriched_at"] > STATE["enriched_at"]
    assert doc["topic"] == STATE["topic"] and doc["sentiment"]["label"] == STATE["sentiment"]
    assert doc["model_tags"]["topic"] == doc["topics"][0]["label"]
    cli = cli_json(live_app, "search", f'"{STATE["title"]}"', "--topic", STATE["topic"])
    assert STATE["doc_id"] in [h["id"] for h in cli["hits"]]
    others = live_app.ctx.client.search(
        index=f"{live_app.settings.index.prefix}-docs", size=0, track_total_hits=True,
        query={"exists": {"field": "corrected"}})["hits"]["total"]["value"]
    assert others == 1  # nothing else picked up a correction
    login(page, live_app, "analyst1")
    page.goto(f"{live_app.url}/documents/{STATE['doc_id']}")
    assert "đã sửa bởi Nguyễn Văn An" in page.locator("[data-testid=corrected-note]").inner_text()


def test_export_for_training_is_for_admins_audited_and_trains(live_app, tmp_path) -> None:
    from enrich.data import read_examples
    from tests.test_enrich_train import tiny_rows, write_jsonl

    with live_app.http("analyst1") as http:
        assert http.get("/api/corrections/export", params={"task": "topic"}).status_code == 403
    with live_app.http("admin") as http:
        resp = http.get("/api/corrections/export", params={"task": "topic"})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in resp.text.splitlines()]
        listed = http.get("/api/corrections").json()
    assert rows == [{"id": f"correction:{STATE['doc_id']}", "title": STATE["title"], "text": rows[0]["text"],
                     "topic": STATE["topic"]}]
    assert "Cập nhật lúc 10 giờ" not in rows[0]["text"]  # the text the person read when correcting
    assert listed["total"] == 1 and listed["corrections"][0]["doc_id"] == STATE["doc_id"]
    entries = audit_entries(live_app, action="corrections.export", actor="admin")
    assert entries and entries[0]["details"]["rows"] == 1 and entries[0]["target"] == "topic"

    out = tmp_path / "corrections-sentiment.jsonl"
    result = run_cli("enrich", "corrections", "--task", "sentiment", "--out", str(out), env=live_app.world.env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrote 1 corrected sentiment labels" in result.stdout
    examples = read_examples([out])
    expected = [(f"correction:{STATE['doc_id']}", {"sentiment": STATE["sentiment"]})]
    assert [(e.id, e.labels) for e in examples] == expected
    assert any(e["details"].get("via") == "cli" for e in audit_entries(live_app, action="corrections.export"))

    topic_file = tmp_path / "corrections-topic.jsonl"
    topic_file.write_text(resp.text, encoding="utf-8")
    existing = write_jsonl(tmp_path / "existing.jsonl", tiny_rows(60, seed=5))
    model = tmp_path / "topic-retrained"
    trained = run_cli("enrich", "train", "--data", str(topic_file), "--data", str(existing), "--task", "topic",
                      "--out", str(model), "--epochs", "1", "--vocab-size", "300", "--hidden-size", "16",
                      "--layers", "1", "--heads", "2", "--max-length", "32", "--batch-size", "16", "--threads", "1",
                      "--chunks", "1", env=live_app.world.env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    record = json.loads((model / "training.json").read_text(encoding="utf-8"))
    assert record["train_rows"] + record["dev_rows"] == 61
    assert STATE["topic"] in record["labels"]
    assert [f["name"] for f in record["data_files"]] == ["corrections-topic.jsonl", "existing.jsonl"]


def test_admins_see_the_corrections_page(page, live_app) -> None:
    login(page, live_app, "admin")
    page.goto(f"{live_app.url}/admin/corrections")
    assert page.locator("[data-testid=corrections-total]").inner_text() == "1 lần sửa"
    row = page.locator("[data-testid=corrections-table] tbody tr").first
    assert "Nguyễn Văn An" in row.inner_text()
    assert row.locator("a").get_attribute("href") == f"/documents/{STATE['doc_id']}"
    analyst = page.context.browser.new_context()
    other = analyst.new_page()
    login(other, live_app, "analyst1")
    response = other.goto(f"{live_app.url}/admin/corrections")
    assert response is not None and response.status == 403
    analyst.close()


# --- without a cluster ------------------------------------------------------------------------------------------

def test_apply_correction_puts_the_models_tags_aside() -> None:
    from index.corrections import apply_correction

    update = {"topic": "law", "topics": [{"label": "law", "score": 0.8}],
              "sentiment": {"label": "negative", "score": 0.9}, "models": {"topic": "t@1"}}
    record = {"doc_id": "d", "topic": "sports", "by": "analyst1", "at": "2026-11-30T01:00:00+00:00",
              "previous": {"topic": "law", "sentiment": "negative"}}
    apply_correction(update, record)
    assert update["topic"] == "sports" and update["sentiment"] == {"label": "negative", "score": 0.9}
    assert update["model_tags"] == {"topic": "law", "sentiment": "negative"}
    assert update["corrected"] == {"topic": "sports", "by": "analyst1", "at": "2026-11-30T01:00:00+00:00"}
    assert update["topics"] == [{"label": "law", "score": 0.8}]  # the models' scores stay
    untouched = {"topic": "law"}
    assert apply_correction(untouched, None) == {"topic": "law"}


def test_the_crawls_tagging_applies_corrections_and_never_overwrites_one_it_cannot_read(monkeypatch) -> None:
    from types import SimpleNamespace

    from crawlers import pipelines
    from crawlers.items import DocumentItem
    from mediawatch.config import Settings

    monkeypatch.setattr(pipelines, "get_tagger", lambda settings: None)
    monkeypatch.setattr(pipelines, "tag_documents", lambda inputs, tagger: [
        {"topic": "law", "topics": [{"label": "law", "score": 0.7}], "sentiment": {"label": "negative", "score": 0.9},
         "models": {"topic": "t@1", "sentiment": "s@1"}, "enriched_at": "2026-12-01T00:00:00+00:00"}
        for _ in inputs])

    class Lookup:
        def __init__(self, found: dict | None) -> None:
            self.found = found

        def latest(self, ids: list[str]) -> dict:
            if self.found is None:
                raise ConnectionError("the cluster went away")
            return {i: r for i, r in self.found.items() if i in ids}

    counts: dict[str, int] = {}
    stats = SimpleNamespace(inc_value=lambda key, n=1: counts.__setitem__(key, counts.get(key, 0) + n))
    pipe = pipelines.EnrichPipeline(SimpleNamespace(stats=stats, spider=None), Settings(), None, Lookup(None))

    def item(doc_id: str) -> DocumentItem:
        return DocumentItem(id=doc_id, url=f"http://x/{doc_id}", source="s", source_name="S", kind="news", title="T",
                            text="Mưa lớn ở Từ Sơn.", content_hash=doc_id, language="vi")

    try:
        broken = [item("a"), item("b")]
        pipe._tag(broken)
        assert all(i.topic is None and i.sentiment is None for i in broken)  # stored tags (and corrections) kept
        assert counts["mediawatch/correction_errors"] == 2
        assert "topic" not in broken[0].to_source()
        pipe.corrections = Lookup({"a": {"doc_id": "a", "sentiment": "positive", "by": "analyst2",
                                         "at": "2026-11-30T01:00:00+00:00"}})
        fine = [item("a"), item("b")]
        pipe._tag(fine)
        corrected, plain = fine
        assert corrected.sentiment == {"label": "positive", "score": 1.0} and corrected.topic == "law"
        assert corrected.model_tags == {"topic": "law", "sentiment": "negative"}
        assert corrected.to_source()["corrected"] == {"sentiment": "positive", "by": "analyst2",
                                                      "at": "2026-11-30T01:00:00+00:00"}
        assert plain.sentiment["label"] == "negative" and plain.corrected is None and plain.model_tags is None
    finally:
        for pool in (pipe.pool, getattr(pipe, "beside", None)):
            if pool is not None:
                pool.shutdown(wait=False)
