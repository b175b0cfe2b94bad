"""``extract_article`` runs trafilatura without its metadata pass and takes title, author, description and
categories from the same steps of that pass (``crawlers.extract._page_metadata``, for speed). These tests hold
it to giving exactly what the whole pass gives, on every page of the test site and every saved outlet page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from trafilatura.metadata import extract_metadata

import crawlers.extract as extract
from crawlers.encoding import decode_html
from tests.site import build_site

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _pages() -> list[tuple[str | None, bytes, str]]:
    site = build_site("http://127.0.0.1:8765")
    pages: list[tuple[str | None, bytes, str]] = []
    for article in site.catalog.articles:
        page = site.pages[article.path]
        pages.append((article.url, page.body, page.content_type))
    for path in sorted(FIXTURES.rglob("*.html")):
        pages.append((None, path.read_bytes(), "text/html"))
    return pages


PAGES = _pages()


def test_there_are_pages_to_compare() -> None:
    assert len(PAGES) >= 80


def test_metadata_fields_equal_trafilaturas_whole_pass() -> None:
    compared = 0
    for url, body, content_type in PAGES:
        tree = extract.parse_html(extract.strip_noise(decode_html(body, content_type)[0]))
        if tree is None:
            continue
        whole = extract_metadata(tree, url)
        ours = extract._page_metadata(tree)
        assert ours is not None
        for name in extract._METADATA_FIELDS:
            assert getattr(ours, name) == getattr(whole, name), (url, name)
        compared += 1
    assert compared >= 80


def test_articles_equal_those_extracted_with_the_whole_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [extract.extract_article(body, url=url, content_type=ct, now=NOW) for url, body, ct in PAGES]
    monkeypatch.setattr(extract, "_page_metadata", lambda tree: None)  # trafilatura's whole metadata pass
    whole = [extract.extract_article(body, url=url, content_type=ct, now=NOW) for url, body, ct in PAGES]
    assert sum(1 for article in whole if article.text) >= 70
    for (url, _, _), a, b in zip(PAGES, fast, whole, strict=True):
        assert a == b, url
