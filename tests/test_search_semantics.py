"""Search means what staff mean, against a real node through the real CLI: dates are local calendar
days in the configured zone, hits show local times, ``author:``/``section:`` match words, prefixes and
diacritic-free forms, and a hit has one JSON shape everywhere."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from enrich.folding import fold
from index.client import make_client
from index.mappings import docs_alias, ensure_indices
from index.search import Hit, SearchRequest, format_instant, search
from index.writer import BulkWriter
from tests.conftest import Cluster, delete_prefix, run_cli

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
HIT_KEYS = ["id", "url", "title", "source", "kind", "language", "published", "author", "section", "thread_title",
            "snippet", "score", "topic", "sentiment", "story", "story_size", "story_outlets", "story_origin",
            "content_hash", "also_at", "places"]


def _doc(doc_id: str, published: datetime, *, title: str, author: str = "", section: str = "",
         text: str = "Nội dung bài viết về mưa lũ.") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": doc_id, "url": f"http://x.test/{doc_id}", "source": "s", "kind": "news", "language": "vi",
        "title": title, "title_folded": fold(title), "text": text, "text_folded": fold(text),
        "published": published.astimezone(UTC).isoformat(),
    }
    if author:
        doc |= {"author": author, "author_folded": fold(author)}
    if section:
        doc |= {"section": section, "section_folded": fold(section)}
    return doc


def _local_midnight_today() -> datetime:
    now = datetime.now(VIETNAM)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    """A handful of documents around the edges of 1 November 2026 in Vietnam, and of today."""
    prefix = f"mwt-sem-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path_factory.mktemp("semantics")
    settings = cluster.settings(prefix, data_dir)
    client = make_client(settings)
    ensure_indices(client, settings)
    midnight = _local_midnight_today()
    docs = [
        # 06:30 on 1 Nov in Vietnam, still 31 Oct in UTC.
        _doc("early", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), title="Mưa lũ sáng sớm",
             author="Nguyễn Văn An", section="Thời sự"),
        # Noon on 1 Nov in Vietnam.
        _doc("noon", datetime(2026, 11, 1, 5, 0, tzinfo=UTC), title="Mưa lũ buổi trưa",
             author="Nguyên Hà", section="Thể thao"),
        # 00:30 on 2 Nov in Vietnam, still 1 Nov in UTC.
        _doc("late", datetime(2026, 11, 1, 17, 30, tzinfo=UTC), title="Mưa lũ nửa đêm",
             author="Trần Thị Bình", section="Thời sự"),
        # Just after local midnight today / just before it (yesterday, local).
        _doc("today-early", midnight + timedelta(seconds=30), title="Ngập úng hôm nay", text="Nước dâng cao."),
        _doc("yesterday-late", midnight - timedelta(minutes=30), title="Ngập úng hôm qua", text="Nước dâng cao."),
    ]
    writer = BulkWriter(client)
    for doc in docs:
        writer.add(docs_alias(settings), doc["id"], doc)
    writer.flush(refresh=True)
    yield {"env": cluster.env(prefix, data_dir), "settings": settings, "client": client}
    delete_prefix(cluster.url, prefix)


def _search(world: dict, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_cli("search", *args, "--json", env=env or world["env"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _ids(world: dict, *args: str, env: dict[str, str] | None = None) -> set[str]:
    return {hit["id"] for hit in _search(world, *args, "--size", "100", env=env)["hits"]}


def test_a_day_means_the_local_calendar_day(world) -> None:
    assert _ids(world, "mưa lũ", "--from", "2026-11-01", "--to", "2026-11-01") == {"early", "noon"}
    assert _ids(world, "mưa lũ", "--from", "2026-11-02", "--to", "2026-11-02") == {"late"}
    assert _ids(world, "mưa lũ", "--to", "2026-10-31") == set()


def test_iso_times_without_an_offset_are_local_and_with_one_are_kept(world) -> None:
    assert _ids(world, "mưa lũ", "--from", "2026-11-01T06:00", "--to", "2026-11-01T07:00") == {"early"}
    assert _ids(world, "mưa lũ", "--from", "2026-10-31T23:00Z", "--to", "2026-10-31T23:59+00:00") == {"early"}


def test_today_and_yesterday_are_local_days(world) -> None:
    assert _ids(world, "ngập úng", "--from", "today") == {"today-early"}
    assert _ids(world, "ngập úng", "--from", "yesterday", "--to", "yesterday") == {"yesterday-late"}
    assert _ids(world, "ngập úng", "--from", "2d") == {"today-early", "yesterday-late"}


def test_the_configured_zone_decides_the_day_and_the_printed_offset(world) -> None:
    env = {**world["env"], "MEDIAWATCH_CRAWL__TIMEZONE": "UTC"}
    found = _search(world, "mưa lũ", "--from", "2026-11-01", "--to", "2026-11-01", "--sort", "date", env=env)
    assert [hit["id"] for hit in found["hits"]] == ["late", "noon"]
    assert found["hits"][0]["published"] == "2026-11-01T17:30:00+00:00"


def test_json_instants_carry_the_local_offset(world) -> None:
    hits = {hit["id"]: hit for hit in _search(world, "mưa lũ", "--size", "10")["hits"]}
    assert hits["early"]["published"] == "2026-11-01T06:30:00+07:00"
    assert hits["late"]["published"] == "2026-11-02T00:30:00+07:00"
    assert datetime.fromisoformat(hits["early"]["published"]) == datetime(2026, 10, 31, 23, 30, tzinfo=UTC)


def test_the_table_shows_local_times_and_names_the_zone(world) -> None:
    result = run_cli("search", "mưa lũ", "--from", "2026-11-01", "--to", "2026-11-01", env=world["env"])
    assert result.returncode == 0, result.stderr
    assert "Asia/Ho_Chi_Minh" in result.stdout
    assert "2026-11-01 06:30" in result.stdout and "2026-11-01 12:00" in result.stdout
    assert "23:30" not in result.stdout


def test_one_hit_shape_for_json_and_limit(world) -> None:
    page = _search(world, "mưa lũ", "--sort", "date", "--size", "10")
    streamed = run_cli("search", "mưa lũ", "--sort", "date", "--limit", "10", env=world["env"])
    assert streamed.returncode == 0, streamed.stderr
    lines = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert lines == page["hits"] and len(lines) == 3
    assert all(list(hit) == HIT_KEYS for hit in lines)
    assert list(page) == ["total", "hits", "next"]


def test_hit_to_json_is_the_shape_in_python_too(world) -> None:
    result = search(world["client"], world["settings"], SearchRequest(query="mưa lũ", sort="date"))
    assert result.timezone == "Asia/Ho_Chi_Minh"
    first: Hit = result.hits[0]
    assert first.published == datetime(2026, 11, 2, 0, 30, tzinfo=VIETNAM)
    assert first.to_json()["published"] == format_instant(first.published) == "2026-11-02T00:30:00+07:00"
    assert list(first.to_json()) == HIT_KEYS


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("author:nguyen", {"early", "noon"}),  # Nguyễn and Nguyên, typed without diacritics
        ("author:Nguyễn", {"early", "noon"}),  # exact diacritics first, folded forms still found
        ("author:nguye*", {"early", "noon"}),  # a prefix of the folded word
        ("author:an", {"early"}),  # a word of the name, not the whole value
        ('author:"tran thi binh"', {"late"}),
        ('section:"thoi su"', {"early", "late"}),
        ("section:thể", {"noon"}),
        ("section:thao", {"noon"}),
        ("section:th*", {"early", "noon", "late"}),
    ],
)
def test_author_and_section_match_like_other_fields(world, query: str, expected: set[str]) -> None:
    assert _ids(world, query) == expected


def test_exact_diacritics_rank_first_in_author(world) -> None:
    hits = _search(world, "author:Nguyễn", "--size", "10")["hits"]
    assert [hit["id"] for hit in hits] == ["early", "noon"]


def test_section_facet_counts_exact_sections(world) -> None:
    facets = _search(world, "mưa lũ", "--facets")["facets"]
    assert facets["section"] == {"Thời sự": 2, "Thể thao": 1}


def test_search_before_the_first_crawl_says_so(cluster: Cluster, tmp_path: Path) -> None:
    prefix = f"mwt-empty-{uuid.uuid4().hex[:6]}"
    result = run_cli("search", "lũ", env=cluster.env(prefix, tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert f"nothing is indexed yet under prefix '{prefix}'" in result.stderr and "mediawatch crawl" in result.stderr


def test_search_on_an_outdated_index_names_the_migration(cluster: Cluster, tmp_path: Path) -> None:
    from elasticsearch import Elasticsearch

    from index.mappings import DOCS

    prefix = f"mwt-old-{uuid.uuid4().hex[:6]}"
    client = Elasticsearch(cluster.url)
    client.indices.create(index=DOCS.concrete(prefix, DOCS.version - 1), aliases={DOCS.alias(prefix): {}})
    try:
        result = run_cli("search", "author:nguyen", env=cluster.env(prefix, tmp_path))
    finally:
        delete_prefix(cluster.url, prefix)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "mediawatch index migrate" in result.stderr


def test_a_remembered_schema_check_still_catches_a_moved_alias_or_a_vanished_index(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The schema check is remembered for a while per client (one round trip less per search), yet a
    search answered by an index of another version is refused at once (SchemaOutdated), and a search
    after the index is gone says nothing is indexed."""
    from index.mappings import DOCS
    from index.search import NothingIndexed, _schema_checked
    from mediawatch.errors import SchemaOutdated

    prefix = f"mwt-cache-{uuid.uuid4().hex[:6]}"
    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    try:
        ensure_indices(client, settings)
        current = DOCS.concrete(prefix)
        writer = BulkWriter(client)
        writer.add(docs_alias(settings), "a", _doc("a", datetime(2026, 11, 1, tzinfo=UTC), title="Mưa lũ"))
        writer.flush(refresh=True)
        assert [h.id for h in search(client, settings, SearchRequest(query="lũ")).hits] == ["a"]
        assert docs_alias(settings) in _schema_checked[client]  # remembered
        calls: list[str] = []
        perform = client.perform_request
        client.perform_request = lambda method, path, **kw: (calls.append(path), perform(method, path, **kw))[1]
        search(client, settings, SearchRequest(query="lũ"))
        assert not any("_alias" in path for path in calls)  # no GET _alias this time

        # Another version's index takes the alias (as a migration by another mediawatch would do).
        older = DOCS.concrete(prefix, DOCS.version - 1)
        client.indices.create(index=older)
        client.index(index=older, id="b", document=_doc("b", datetime(2026, 11, 1, tzinfo=UTC), title="Mưa lũ"),
                     refresh=True)
        client.indices.update_aliases(actions=[{"remove": {"index": current, "alias": docs_alias(settings)}},
                                               {"add": {"index": older, "alias": docs_alias(settings)}}])
        with pytest.raises(SchemaOutdated, match="mediawatch index migrate"):
            search(client, settings, SearchRequest(query="lũ"))

        delete_prefix(cluster.url, prefix)
        with pytest.raises(NothingIndexed):
            search(client, settings, SearchRequest(query="lũ"))
    finally:
        delete_prefix(cluster.url, prefix)
