"""End to end: the local site crawled by real Scrapy spiders into a real Elasticsearch node,
then searched through the CLI. Three crawls: a first one, an immediate re-crawl (everything
known and not due: skipped without a request), and one with revisiting forced (every known page
due at once: conditional requests answered 304)."""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from mediawatch.config import EnrichSettings
from tests.conftest import Cluster, delete_prefix, run_cli
from tests.site import serve, sources_yaml


def _crawl(env: dict[str, str], sources: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("crawl", "--sources", str(sources), "--json", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return {r["source"]: r for r in json.loads(result.stdout)}


@pytest.fixture(scope="module")
def world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    """Crawl the site three times; yield everything the tests look at."""
    prefix = f"mwe2e-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path_factory.mktemp("e2e")
    with serve(now=datetime.now(UTC)) as server:
        sources = data_dir / "sources.yaml"
        sources.write_text(sources_yaml(server.base_url), encoding="utf-8")
        env = cluster.env(prefix, data_dir)
        first = _crawl(env, sources)
        first_requests = server.requests.snapshot()
        server.requests.clear()
        second = _crawl(env, sources)
        second_requests = server.requests.snapshot()
        client = Elasticsearch(cluster.url)
        count_after_second = client.count(index=f"{prefix}-docs")["count"]
        server.requests.clear()
        third = _crawl({**env, "MEDIAWATCH_CRAWL__REVISIT_MIN_HOURS": "0", "MEDIAWATCH_CRAWL__REVISIT_MAX_HOURS": "0"},
                       sources)
        third_requests = server.requests.snapshot()
        docs = {
            hit["_source"]["url"]: hit["_source"]
            for hit in client.search(index=f"{prefix}-docs", size=1000, query={"match_all": {}})["hits"]["hits"]
        }
        yield {
            "server": server, "catalog": server.site.catalog, "env": env, "client": client, "prefix": prefix,
            "first": first, "second": second, "third": third, "docs": docs,
            "first_requests": first_requests, "second_requests": second_requests,
            "third_requests": third_requests, "count_after_second": count_after_second,
        }
    delete_prefix(cluster.url, prefix)


def _search(world: dict, *args: str) -> dict[str, Any]:
    result = run_cli("search", *args, "--json", env=world["env"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _doc(world: dict, path: str) -> dict[str, Any]:
    return world["docs"][world["server"].base_url + path]


def test_first_crawl_indexes_every_article_and_post(world) -> None:
    catalog, first = world["catalog"], world["first"]
    assert first["bacninh-news"]["documents"] == len(catalog.articles) >= 60
    assert first["bacninh-forum"]["documents"] == len(catalog.posts)
    news = {u for u, d in world["docs"].items() if d["kind"] == "news"}
    assert news == {a.url for a in catalog.articles}
    assert first["bacninh-news"]["failures"] == {"http_404": 1, "http_500": 1}
    assert first["bacninh-news"]["health"] == "ok"  # a site's occasional 404/500 is not a failed crawl
    assert first["bacninh-forum"]["healthy"] is True


def test_robots_disallowed_page_is_never_fetched_nor_indexed(world) -> None:
    disallowed = world["catalog"].disallowed
    assert world["first"]["bacninh-news"]["robots_refused"] == 1
    assert not [r for r in world["first_requests"] if r.path.startswith("/noi-bo/")]
    assert any(r.path == "/robots.txt" for r in world["first_requests"])
    assert _search(world, disallowed.token)["total"] == 0


def test_query_without_diacritics_finds_text_with_them(world) -> None:
    plain = _search(world, 'lu lut AND "Bac Ninh"', "--size", "50")
    accented = _search(world, 'lũ lụt AND "Bắc Ninh"', "--size", "50")
    assert plain["total"] >= 3
    assert {h["id"] for h in plain["hits"]} == {h["id"] for h in accented["hits"]}
    for hit in plain["hits"]:
        doc = world["docs"][hit["url"]]
        body = doc["title"] + " " + doc["text"]
        assert "lũ" in body and "lụt" in body and "Bắc Ninh" in body
        assert set(hit) >= {"id", "url", "title", "source", "kind", "published", "snippet"}
        assert "<mark>" in hit["snippet"]


def test_exact_diacritics_rank_above_folded_matches(world) -> None:
    hits = _search(world, "nước", "--size", "500")["hits"]  # forum posts also write it "nuoc"
    exact = ["nước" in (world["docs"][h["url"]]["title"] + world["docs"][h["url"]]["text"]).lower() for h in hits]
    assert any(exact) and not all(exact), "the site must have both forms for this test to mean anything"
    assert exact == sorted(exact, reverse=True), "every exact match comes before every folded-only match"


def test_forum_posts_are_separate_documents_with_position_author_and_time(world) -> None:
    catalog, base = world["catalog"], world["server"].base_url
    thread = max(catalog.threads, key=lambda t: t.pages)
    assert thread.pages >= 3
    posts = sorted((d for d in world["docs"].values() if d.get("thread", {}).get("url") == thread.url),
                   key=lambda d: d["thread"]["position"])
    assert [d["thread"]["position"] for d in posts] == list(range(1, len(thread.posts) + 1))
    for doc, post in zip(posts, thread.posts, strict=True):
        assert doc["url"] == f"{thread.url}#{post.id}"
        assert doc["author"] == post.author
        assert datetime.fromisoformat(doc["published"]) == post.time
        assert doc["title"] == thread.title and doc["kind"] == "forum"
        assert " ".join(post.text.split()) in " ".join(doc["text"].split())
        if post.quoted_text:
            assert " ".join(post.quoted_text.split()) not in " ".join(doc["text"].split())
    assert all(d["url"].startswith(base) for d in posts)


def test_windows_1258_page_with_wrong_charset_reads_correctly(world) -> None:
    special = world["catalog"].cp1258
    doc = _doc(world, special.path)
    assert doc["encoding"] == "cp1258"
    assert unicodedata.normalize("NFC", special.sentence) in doc["text"]
    assert "\ufffd" not in doc["text"]
    assert _search(world, f'"{special.sentence}"')["total"] == 1


def test_dates_are_utc_from_meta_visible_text_relative_and_url(world) -> None:
    for article in world["catalog"].articles:
        doc = world["docs"][article.url]
        published = datetime.fromisoformat(doc["published"])
        slack = timedelta(minutes=5) if article.date_source == "relative" else timedelta(0)
        assert abs(published - article.published) <= slack, (article.path, article.date_source, doc["published"])
    assert _doc(world, world["catalog"].date_in_url.path)["date_source"] == "url"


def test_main_text_has_no_boilerplate_and_language_is_detected(world) -> None:
    catalog = world["catalog"]
    for article in catalog.articles:
        doc = world["docs"][article.url]
        assert article.paragraphs[0][:60] in doc["text"], article.path
        for marker in [*catalog.boilerplate_markers, *article.comments]:
            assert marker not in doc["text"], (article.path, marker)
        assert doc["language"] == article.language, article.path


def test_syndicated_copy_is_kept_and_linked_to_the_original(world) -> None:
    special = world["catalog"].syndicated
    copy, original = _doc(world, special.path), _doc(world, special.original)
    assert copy["url"] != original["url"]
    assert copy["content_hash"] == original["content_hash"]
    hits = _search(world, f'"{original["title"]}"', "--size", "5")["hits"]
    by_url = {h["url"]: h for h in hits}
    assert by_url[original["url"]]["also_at"] == [copy["url"]]


def test_hard_pages_are_indexed(world) -> None:
    catalog, base = world["catalog"], world["server"].base_url
    for role in ("broken_html", "huge"):
        article = catalog.article(getattr(catalog, role).path)
        assert article.paragraphs[-1][:60] in world["docs"][article.url]["text"], role
    chain = catalog.redirect_chain
    assert base + chain.final in world["docs"]
    assert base + chain.path not in world["docs"]


def test_second_crawl_adds_no_duplicates_and_fetches_no_known_article(world) -> None:
    second, catalog = world["second"], world["catalog"]
    assert world["count_after_second"] == len(catalog.articles) + len(catalog.posts)
    assert second["bacninh-news"]["documents"] == 0
    assert second["bacninh-news"]["skipped_known"] >= len(catalog.articles) - 1
    article_paths = {a.path for a in catalog.articles}
    assert not [r for r in world["second_requests"] if r.path in article_paths]


def test_second_crawl_requests_no_known_thread_page(world) -> None:
    """Forum thread pages follow the same freshness rules as articles: not due, not requested."""
    second, catalog = world["second"], world["catalog"]
    thread_pages = {path for t in catalog.threads for path in t.page_paths}
    requested = [r.path for r in world["second_requests"] if r.path in thread_pages]
    assert len(thread_pages) > 10 and not requested
    assert second["bacninh-forum"]["skipped_known"] == sum(t.pages for t in catalog.threads)
    assert second["bacninh-forum"]["documents"] == 0


def test_forced_revisit_uses_conditional_requests(world) -> None:
    third, catalog = world["third"], world["catalog"]
    article_requests = [r for r in world["third_requests"] if r.path in {a.path for a in catalog.articles}]
    assert article_requests and all("if-none-match" in r.headers for r in article_requests)
    assert all(r.status == 304 for r in article_requests)
    assert third["bacninh-news"]["not_modified"] == len(article_requests)
    assert third["bacninh-forum"]["not_modified"] == sum(t.pages for t in catalog.threads)
    assert third["bacninh-news"]["documents"] == third["bacninh-forum"]["documents"] == 0
    assert world["client"].count(index=f"{world['prefix']}-docs")["count"] == world["count_after_second"]


def test_filters_sorting_and_paging(world) -> None:
    everything = _search(world, "", "--size", "1000")
    assert everything["total"] == len(world["docs"])
    forum = _search(world, "", "--kind", "forum", "--size", "5")
    assert forum["total"] == len(world["catalog"].posts)
    english = _search(world, "", "--lang", "en", "--size", "100")
    assert {world["docs"][h["url"]]["language"] for h in english["hits"]} == {"en"}
    by_date = _search(world, "", "--sort", "date", "--size", "20")["hits"]
    dates = [h["published"] for h in by_date]
    assert dates == sorted(dates, reverse=True)
    recent = _search(world, "", "--from", "7d", "--size", "1000")
    cutoff = datetime.now(UTC) - timedelta(days=7, minutes=5)
    assert 0 < recent["total"] < everything["total"]
    assert all(datetime.fromisoformat(h["published"]) >= cutoff for h in recent["hits"])
    page1 = _search(world, "Bắc Ninh", "--size", "7")
    page2 = _search(world, "Bắc Ninh", "--size", "7", "--after", page1["next"])
    assert not {h["id"] for h in page1["hits"]} & {h["id"] for h in page2["hits"]}
    assert page1["total"] == page2["total"] > 14


def test_bad_query_syntax_is_one_line_and_non_zero(world) -> None:
    result = run_cli("search", "AND OR (", env=world["env"])
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "query syntax error at position" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""



TAXONOMY = {"politics_society", "lifestyle", "science", "business", "law", "health", "world", "sports", "culture",
            "technology"}


def test_every_document_is_tagged_by_the_shipped_models(world) -> None:
    unsure: dict[str, int] = {"news": 0, "forum": 0}
    threshold = EnrichSettings().topic_min_confidence
    for url, doc in world["docs"].items():
        assert doc["models"]["topic"].startswith("topic-vntc@"), url
        assert doc["models"]["sentiment"].startswith("sentiment-mix@"), url
        if doc["language"] == "vi":
            if doc["topic"] == "unknown":  # too short for a news topic (no candidates), or under the confidence
                unsure[doc["kind"]] += 1
                assert not doc["topics"] or doc["topics"][0]["score"] < threshold, url
            else:
                assert doc["topic"] in TAXONOMY and doc["topics"][0]["label"] == doc["topic"], url
            assert doc["sentiment"]["label"] in {"negative", "neutral", "positive"}, url
        else:  # the shipped models cover Vietnamese only
            assert doc["topic"] == "unknown" and doc["sentiment"]["label"] == "unknown", url
    assert unsure["forum"] > 0  # one-line forum posts get no news section
    news = sum(1 for doc in world["docs"].values() if doc["kind"] == "news" and doc["language"] == "vi")
    assert unsure["news"] <= 0.1 * news, unsure
    # The shipped model is precise on sports but misses some grassroots events (badminton clubs,
    # fun runs) that it calls politics_society: precision must be perfect, recall at least 40%.
    vietnamese = [a for a in world["catalog"].articles if a.language == "vi"]
    called_sports = [a for a in vietnamese if world["docs"][a.url]["topic"] == "sports"]
    sports_section = [a for a in vietnamese if a.section == "the-thao"]
    assert called_sports and all(a.section == "the-thao" for a in called_sports)
    assert len(called_sports) >= 0.4 * len(sports_section)


def test_search_filters_by_topic_and_sentiment(world) -> None:
    sports = _search(world, "", "--topic", "sports", "--size", "200")
    assert sports["total"] > 0 and {h["topic"] for h in sports["hits"]} == {"sports"}
    for label in ("negative", "positive"):
        hits = _search(world, "", "--sentiment", label, "--size", "500")["hits"]
        assert {h["sentiment"] for h in hits} <= {label}
    facets = _search(world, "", "--facets", "--size", "1")["facets"]
    assert sum(facets["topic"].values()) == len(world["docs"])
    assert sum(facets["sentiment"].values()) == len(world["docs"])
    assert 0 < facets["stories"] < len(world["docs"]) and facets["outlets"] == 2


def test_syndicated_copy_and_original_form_one_story_with_the_earliest_publisher(world) -> None:
    special = world["catalog"].syndicated
    copy, original = _doc(world, special.path), _doc(world, special.original)
    assert copy["story"] == original["story"]
    first = min((copy, original), key=lambda d: d["published"])
    assert copy["story_origin"]["url"] == original["story_origin"]["url"] == first["url"]
    collapsed = _search(world, f'"{original["title"]}"', "--stories", "--size", "10")["hits"]
    in_story = [h for h in collapsed if h["story"] == original["story"]]
    assert len(in_story) == 1 and in_story[0]["story_size"] == 2
