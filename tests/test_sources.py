"""The source registry: valid files load, invalid entries name the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.sources import load_sources
from mediawatch.errors import ConfigError, UserError
from tests.conftest import REPO, run_cli

GOOD = """
sources:
  - id: vnx
    name: Example news
    kind: news
    home: https://news.example.vn/
    feeds: [https://news.example.vn/rss.xml]
    article_patterns: ['-\\d+\\.html$']
    schedule: "*/15 * * * *"
  - id: forum-a
    name: Example forum
    kind: forum
    home: https://forum.example.vn/
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    registry = load_sources(write(tmp_path, GOOD))
    news, forum = registry.get("vnx"), registry.get("forum-a")
    assert news.allowed_domains == ["news.example.vn"]
    assert news.is_article_url("https://news.example.vn/a-b-123.html")
    assert not news.is_article_url("https://news.example.vn/chuyen-muc/")
    assert forum.sections == ["https://forum.example.vn/"]
    assert forum.forum.engine == "auto" and forum.forum.engine_or_none is None
    assert forum.forum.overrides() == {}  # every selector comes from the engine's preset
    assert news.allows("https://m.news.example.vn/x") and not news.allows("https://evil.example/x")


@pytest.mark.parametrize(
    ("entry", "field", "fragment"),
    [
        ("kind: blog", "kind", "news"),
        ("home: not-a-url", "home", "absolute"),
        ("article_patterns: ['(']", "article_patterns", "regular expression"),
        ("schedule: 'sometimes'", "schedule", "cron"),
        ("politeness: {delay: -1}", "politeness.delay", "greater"),
        ("colour: blue", "colour", "Extra"),
        ("feeds: ['https://elsewhere.example/rss']", "(entry)", "outside allowed_domains"),
        ("timezone: Mars/Olympus_Mons", "timezone", "unknown IANA time zone 'Mars/Olympus_Mons'"),
        ("timezone: '+07:00'", "timezone", "unknown IANA time zone"),
        ("selectors: {title: 'h1..headline'}", "selectors", "invalid CSS selector 'h1..headline'"),
        ("selectors: {text: 'div >'}", "selectors", "invalid CSS selector"),
        ("forum: {post: 'article..message'}", "forum.post", "invalid CSS selector 'article..message'"),
        ("forum: {time: 'span[title'}", "forum.time", "invalid CSS selector"),
        ("forum: {author: 'a.username >'}", "forum.author", "invalid CSS selector"),
        ("forum: {engine: mybb}", "forum.engine", "unknown forum engine 'mybb' (auto, xenforo1, xenforo2"),
        ("forum: {quote: blockquote}", "forum.quote", "Extra"),
        ("schedule: '61 * * * *'", "schedule", "not a valid cron expression '61 * * * *' (bad minute)"),
        ("schedule: '0 0 31 2 *'", "schedule", "not a valid cron expression"),
        ("schedule: '*/0 * * * *'", "schedule", "not a valid cron expression"),
        ("schedule: '* * * *'", "schedule", "5 fields"),
        ("schedule: 'every 0h'", "schedule", "must be positive"),
        ("schedule: 'every banana'", "schedule", "every 1h"),
        ("schedule: 'every -1h'", "schedule", "every 1h"),
        ("max_pages: 0", "max_pages", "greater than or equal to 1"),
        ("max_pages: true", "max_pages", "not true/false"),
        ("politeness: {concurrency: 0}", "politeness.concurrency", "greater than or equal to 1"),
        ("politeness: {delay: .nan}", "politeness.delay", "finite"),
        ("politeness: {delay: .inf}", "politeness.delay", "finite"),
    ],
)
def test_invalid_entry_names_file_entry_and_field(tmp_path: Path, entry: str, field: str, fragment: str) -> None:
    base = "sources:\n  - id: bad-one\n    name: X\n    kind: news\n    home: https://x.example/\n"
    lines = [ln for ln in base.splitlines() if not ln.strip().startswith(entry.split(":")[0] + ":")]
    path = write(tmp_path, "\n".join(lines) + f"\n    {entry}\n")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    message = str(info.value)
    assert str(path) in message and "bad-one" in message and f"field {field}" in message
    assert fragment.lower() in message.lower()
    assert "\n" not in message


def test_schedules_selectors_time_zones_and_forum_engines_that_load(tmp_path: Path) -> None:
    entry = (
        "  - id: f{n}\n    name: F\n    kind: forum\n    home: https://f{n}.example/\n"
        "    timezone: {tz}\n    schedule: '{schedule}'\n"
    )
    good = [("Asia/Ho_Chi_Minh", "*/30 * * * *"), ("Etc/GMT-7", "0 8 * * mon-fri"), ("UTC", "every 1h"),
            ("Asia/Bangkok", "every 30 minutes"), ("Europe/Paris", "every 2d")]  # fmt: skip
    text = "sources:\n" + "".join(entry.format(n=n, tz=tz, schedule=sc) for n, (tz, sc) in enumerate(good))
    text += (
        "  - id: vb\n    name: V\n    kind: forum\n    home: https://vb.example/\n"
        "    selectors: {title: 'h1.title, .headline:not(.ad)', published: 'time[datetime]'}\n"
        "    forum: {engine: vbulletin4, post: 'li.postcontainer', author: '.username::text', post_id: id,\n"
        "            next_page: 'a[rel=next]::attr(href)', body: 'div:has(> blockquote.postcontent)'}\n"
    )
    registry = load_sources(write(tmp_path, text))
    assert [s.schedule for s in registry][: len(good)] == [sc for _, sc in good]
    forum = registry.get("vb").forum
    assert forum.engine_or_none == "vbulletin4"
    assert forum.overrides() == {
        "next_page": "a[rel=next]::attr(href)", "post": "li.postcontainer", "post_id": "id",
        "author": ".username::text", "body": "div:has(> blockquote.postcontent)",
    }  # fmt: skip


def test_every_interval() -> None:
    from datetime import timedelta

    from crawlers.sources import parse_every

    assert parse_every("every 1h") == timedelta(hours=1)
    assert parse_every("every 90m") == timedelta(minutes=90)
    assert parse_every("Every 2 days") == timedelta(days=2)
    assert parse_every("*/5 * * * *") is None
    with pytest.raises(ValueError, match="positive"):
        parse_every("every 0m")


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line \d+: not valid YAML"):
        load_sources(write(tmp_path, "sources:\n  - id: [unclosed\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_sources(tmp_path / "nope.yaml")


def test_duplicate_and_unknown_ids(tmp_path: Path) -> None:
    dup = GOOD + "  - id: vnx\n    name: again\n    kind: news\n    home: https://n.example/\n"
    with pytest.raises(ConfigError, match="duplicate id"):
        load_sources(write(tmp_path, dup))
    registry = load_sources(write(tmp_path, GOOD))
    with pytest.raises(UserError, match="unknown source 'nope'.*known: forum-a, vnx"):
        registry.get("nope")


def test_cli_lists_sources_and_reports_bad_file(tmp_path: Path) -> None:
    ok = run_cli("sources", "list", "--json", "--file", str(write(tmp_path, GOOD)))
    assert ok.returncode == 0, ok.stderr
    assert '"id": "vnx"' in ok.stdout and '"kind": "forum"' in ok.stdout
    bad = run_cli("sources", "list", "--file", str(write(tmp_path, "sources: 3\n")))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "expected a top-level 'sources:' list" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_repository_sources_file_is_valid() -> None:
    registry = load_sources(REPO / "sources.yaml")
    assert {s.kind for s in registry} == {"news", "forum"}


def test_repository_sources_file_matches_the_demo_site() -> None:
    import yaml

    from tests.site import sources_yaml

    shipped = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    assert shipped == yaml.safe_load(sources_yaml("http://127.0.0.1:8765"))
