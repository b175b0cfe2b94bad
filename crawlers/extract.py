"""Article extraction: HTML in, :class:`Article` out. No I/O and no Scrapy here.

``extract_article`` decodes (:mod:`crawlers.encoding`), drops scripts/styles/comments and hidden
elements in a fast pre-pass, takes the main text and metadata from trafilatura, dates from
:mod:`crawlers.dates`, the language from :mod:`enrich.language`, and lets per-source CSS selectors
override any field. It never raises on bad markup: unusable input yields an Article with empty text.

Contract with the library: our own cleaning never removes text that plain ``trafilatura`` (run with
:data:`TRAFILATURA_OPTIONS` on the raw page) would keep, unless the cut has a reason stated where it
is made (``tests/test_extract_outlets.py`` checks this on every page we have).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from crawlers.dates import (
    DEFAULT_TIMEZONE,
    PageDates,
    article_jsonld,
    find_dates_in_html,
    jsonld_objects,
    parse_date,
    zone,
)
from crawlers.encoding import decode_html, looks_utf16
from enrich.language import UNKNOWN, detect_language, normalize_language_code

log = logging.getLogger(__name__)
# trafilatura warns "discarding data" for every page without main text; an empty Article already says so.
logging.getLogger("trafilatura.core").setLevel(logging.ERROR)

#: Above this many characters of markup (after scripts/styles are dropped) extraction runs in fast mode.
FAST_EXTRACTION_CHARS = 1_000_000
#: The options every trafilatura call here uses (the first pass; an empty result is retried without
#: ``favor_precision``). Tests and the bench run plain trafilatura with the same ones.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "with_metadata": True,
    "deduplicate": False,
}
SELECTOR_FIELDS = ("title", "text", "published", "updated", "author", "section")
_BINARY_TYPES = (
    "image/", "audio/", "video/", "font/", "application/pdf", "application/zip", "application/gzip",
    "application/x-gzip", "application/vnd.", "application/msword",
)  # fmt: skip
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# ASCII letters of either case spelled out (as the lower-cased page was searched before, without lower-casing
# a whole 5 MB page): re.IGNORECASE would also match "ſ" (U+017F) for "s".
_NOISE_OPENERS = re.compile(
    r"<(?:[sS][cC][rR][iI][pP][tT]|[sS][tT][yY][lL][eE]|[tT][eE][mM][pP][lL][aA][tT][eE])\b|<!--"
)
_NOISE_CLOSERS = {
    name: re.compile("</" + "".join(f"[{ch}{ch.upper()}]" for ch in name)) for name in ("script", "style", "template")
}
_LOWER = "translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz')"
# The style test inside @style[...]: only elements that have one pay for the two translate() calls.
_HIDDEN_XPATH = lxml.etree.XPath(
    f"//*[@hidden or @aria-hidden='true' or @style[contains({_LOWER}, 'display:none')"
    f" or contains({_LOWER}, 'visibility:hidden')]]"
)
#: A hidden block among the article's paragraphs with at least this much text is a fold (see _is_fold).
FOLD_MIN_CHARS = 50
_INLINE_TAGS = {"a", "span", "b", "strong", "i", "em", "small", "sup", "sub", "img", "svg", "button", "input", "label"}
_DATELINE_XPATH = lxml.etree.XPath(
    "//*[self::strong or self::b or self::span or self::em or self::div or self::p][not(*)]"
    "[following-sibling::node()[1][self::text()][normalize-space()]]"
    "[not(preceding-sibling::node()[normalize-space()])]"
)
_DATELINE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:dateline|date-line|location(?:-stamp)?|dia-?danh|dia-?diem|place)(?:$|[\s_-])", re.IGNORECASE
)
_NOT_DATELINE = re.compile(r"[\d.,;!?\"“”]|[–—:|](?!$)")  # digits, sentence punctuation, a separator inside
_PARSER = lxml.html.HTMLParser(
    remove_comments=True, remove_pis=True, huge_tree=True, default_doctype=False, collect_ids=False
)
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
    "blockquote", "pre", "table", "tr", "figcaption", "header", "footer", "dd", "dt", "dl", "address",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "form", "button", "nav", "aside", "svg"}
_HOME_LABELS = {"home", "trang chủ", "trang chu", "trang nhất", "homepage"}
_LEAD_CLASS = re.compile(
    r"(?:^|[\s_-])(?:sapo|lead|summary|chapeau|excerpt|description|desc|tom-?tat)(?:$|[\s_-])", re.IGNORECASE
)
_LEAD_WINDOW = 40
# "Tác giả: X", "Bài và ảnh: X", "By X" -> "X" (a separator is required: "Byron" stays "Byron").
_AUTHOR_PREFIX = re.compile(
    r"^(?:bài\s*(?:và|,|&)\s*ảnh|bài|ảnh|tác giả|tac gia|người viết|nguoi viet|viết bởi|posted by|by)"
    r"(?:\s*[:\-–]\s*|\s+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Article:
    """What one page says. ``text`` is the main text only (paragraphs separated by a blank line, NFC);
    dates are tz-aware UTC; ``language`` is ISO 639-1 or ``"unknown"``; ``encoding`` is the codec used to
    decode bytes input (None for str input); ``date_source`` says how ``published`` was found: "selector"
    (a per-source CSS selector) or one of the values :class:`crawlers.dates.PageDates` documents."""

    title: str | None = None
    text: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    section: str | None = None
    language: str = UNKNOWN
    canonical_url: str | None = None
    description: str | None = None
    encoding: str | None = None
    date_source: str | None = None

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: datetimes as ISO 8601 strings (``...+00:00``)."""
        data = asdict(self)
        for key in ("published", "updated"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


# --- pre-pass and parsing -------------------------------------------------------------------------


def _comment_end(html: str, start: int) -> int:
    """Where the comment opened at ``start`` ends, as the HTML standard (and lxml, and browsers) read it:
    ``<!-->`` and ``<!--->`` are whole empty comments, any other ends at the first ``-->`` or ``--!>``;
    an unclosed one runs to the end of the document."""
    body = start + 4
    if html.startswith(">", body):
        return body + 1
    if html.startswith("->", body):
        return body + 2
    close = html.find("--", body)
    while close >= 0:
        if html.startswith(">", close + 2):
            return close + 3
        if html.startswith("!>", close + 2):
            return close + 4
        close = html.find("--", close + 1)
    return len(html)


def strip_noise(html: str) -> str:
    """Remove ``<script>`` (JSON-LD kept), ``<style>``, ``<template>`` and comments in one linear pass.

    Each cut is one a browser makes too: none of these is ever shown. Comments end where the HTML
    standard ends them (:func:`_comment_end`); unclosed ``<script>``/``<style>`` swallow the rest of the
    document, as in browsers (lxml reads them so too, so trafilatura loses that text as well)."""
    parts: list[str] = []
    position = 0
    length = len(html)
    while True:
        match = _NOISE_OPENERS.search(html, position)
        if match is None:
            break
        start = match.start()
        opener = match.group()
        keep = False
        if opener == "<!--":
            end = _comment_end(html, start)
        else:
            name = opener[1:].lower()
            tag_end = html.find(">", start)
            found = _NOISE_CLOSERS[name].search(html, tag_end) if tag_end >= 0 else None
            if found is None:
                end = length
            else:
                close_end = html.find(">", found.start())
                end = length if close_end < 0 else close_end + 1
            keep = name == "script" and tag_end >= 0 and "ld+json" in html[start:tag_end].lower()
        parts.append(html[position:start])
        if keep:
            parts.append(html[start:end])
        position = end
    parts.append(html[position:])
    return "".join(parts)


def parse_html(html: str) -> HtmlElement | None:
    """Parse (already de-noised) markup into an lxml tree without hidden elements (:func:`drop_hidden`)
    and with datelines set off from the text they lead (:func:`separate_datelines`); None if unusable."""
    # Control characters are never text (and lxml refuses them in strings it builds later); with an XML
    # declaration lxml refuses str input.
    html = _XML_DECLARATION.sub("", _CONTROL_CHARS.sub("", html), count=1)
    if not html.strip():
        return None
    try:
        tree = lxml.html.document_fromstring(html, parser=_PARSER)
    except (ValueError, lxml.etree.ParserError, lxml.etree.XMLSyntaxError):
        return None
    if tree is None:
        return None
    drop_hidden(tree)
    separate_datelines(tree)
    return tree


def drop_hidden(tree: HtmlElement) -> None:
    """Drop hidden elements (``hidden``, ``aria-hidden="true"``, inline ``display:none`` or
    ``visibility:hidden``): menus, modals, SEO stuffing, duplicates, which would otherwise leak into
    the text, the dates and the lead, and cost time on big pages.

    Two kinds are shown instead, because they are the article and plain trafilatura keeps them:
    a *fold* (:func:`_is_fold`, the rest of the text behind "Xem thêm"/"Đọc tiếp") and a wrapper of the
    page's ``<h1>``, ``<main>`` or ``<article>`` and its text when none of those is visible (a page that a
    script shows after loading, or one saved while a modal had set ``aria-hidden`` on everything else)."""
    hidden = _HIDDEN_XPATH(tree)
    if not hidden:
        return
    hidden_set = set(hidden)
    landmarks = list(tree.iter("h1", "main", "article"))
    page_hidden = bool(landmarks) and not any(
        all(node not in hidden_set for node in chain([mark], mark.iterancestors())) for mark in landmarks
    )
    dropped: set[HtmlElement] = set()
    shown: dict[HtmlElement, str | None] = {}  # parent -> its visible paragraphs' text (None: no paragraph)
    for element in hidden:
        if element.tag in ("html", "body") or element.getparent() is None:
            continue
        if any(ancestor in dropped for ancestor in element.iterancestors()):
            continue
        if page_hidden and element.find(".//p") is not None and _holds_landmark(element):
            _unhide(element)
        elif _is_fold(element, hidden_set, shown):
            _unhide(element)
        else:
            element.drop_tree()
            dropped.add(element)


def _holds_landmark(element: HtmlElement) -> bool:
    return any(True for _ in element.iterdescendants("h1", "main", "article"))


def _unhide(element: HtmlElement) -> None:
    for attribute in ("hidden", "aria-hidden", "style"):
        element.attrib.pop(attribute, None)


def _is_fold(element: HtmlElement, hidden: set[HtmlElement], shown: dict[HtmlElement, str | None]) -> bool:
    """True for a hidden block that continues the article: its parent also holds visible ``<p>``
    paragraphs, and it has at least :data:`FOLD_MIN_CHARS` of text that is mostly not link text (a hidden
    "Xem thêm" link list is not article text) and does not repeat the visible text beside it."""
    parent = element.getparent()
    if parent is None or element.tag in _INLINE_TAGS:
        return False
    if parent not in shown:
        visible = [child for child in parent if child not in hidden and isinstance(child.tag, str)]
        has_paragraph = any(child.tag == "p" and child.text_content().strip() for child in visible)
        shown[parent] = " ".join(" ".join(c.text_content().split()) for c in visible) if has_paragraph else None
    around = shown[parent]
    if around is None:
        return False
    text = " ".join(element.text_content().split())
    if len(text) < FOLD_MIN_CHARS:
        return False
    if 2 * sum(len(" ".join(a.text_content().split())) for a in element.iter("a")) >= len(text):
        return False
    return text[:FOLD_MIN_CHARS] not in around


def separate_datelines(tree: HtmlElement) -> None:
    """Set a dateline off from the lead it starts: ``<strong>HÀ GIANG</strong>Ngày 24/11`` or
    ``<div class="dateline">Hà Giang</div>Ngày 24/11`` read "HÀ GIANG – Ngày 24/11", never "HÀ GIANGNgày".

    Outlets add that dash or line break with CSS, which we never see. A dateline is a short run of words
    without digits, first in its block and followed by text, marked by its class or written in capitals;
    a block one is read inline (renamed ``<span>``) so the lead stays one paragraph. Any other run of
    several words, or a label ending in ":" or a dash, glued to the next word this way only gets a space."""
    for element in _DATELINE_XPATH(tree):
        text = " ".join((element.text or "").split())
        tail = element.tail or ""
        letters = sum(ch.isalpha() for ch in text)
        if not 2 <= letters <= 40 or len(text.split()) > 5 or _NOT_DATELINE.search(text):
            continue
        glued = not tail[:1].isspace()
        block = element.tag in ("div", "p")
        marked = bool(_DATELINE_CLASS.search(element.get("class", ""))) or (
            text.isupper() and (" " in text or letters >= 3)
        )
        labelled = text[-1] in "-–—:|"  # "PV:", "HÀ GIANG -": a separator is written, a space is missing
        if not (marked or (glued and (" " in text or labelled))) or not (glued or block):
            continue
        separator = " – " if marked and not labelled else " "
        element.tail = separator + tail.lstrip()
        if block:
            element.tag = "span"


_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not (b < 32 and b not in (9, 10, 13)))
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def looks_binary(sample: str | bytes) -> bool:
    """True when the start of the input is mostly control bytes (images, archives, random junk)."""
    head = sample[:8192]
    if not head:
        return False
    if isinstance(head, bytes):
        controls = len(head.translate(None, _NOT_CONTROL_BYTES))  # the control bytes alone, counted in C
    else:
        controls = len(_CONTROL_TEXT.findall(head))
    return controls > 0.02 * len(head)


# --- page metadata --------------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def _meta(tree: HtmlElement, *keys: str) -> str | None:
    wanted = {k.lower() for k in keys}
    for element in tree.iter("meta"):
        key = (
            (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
        )
        if key in wanted:
            value = _clean(element.get("content"))
            if value:
                return value
    return None


def _absolute(href: str | None, base: str | None) -> str | None:
    href = (href or "").strip()
    if not href:
        return None
    joined = urljoin(base, href) if base else href
    parts = urlsplit(joined)
    return joined if parts.scheme in ("http", "https") and parts.netloc else None


def canonical_url(tree: HtmlElement, url: str | None) -> str | None:
    """The page's declared canonical URL (``<link rel=canonical>``, else ``og:url``), made absolute."""
    base_href = next((b.get("href") for b in tree.iter("base") if b.get("href")), None)
    base = urljoin(url, base_href) if url and base_href else (base_href or url)
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            found = _absolute(link.get("href"), base)
            if found:
                return found
    return _absolute(_meta(tree, "og:url"), base)


def page_language_hint(tree: HtmlElement) -> str | None:
    """Language the page declares (``<html lang>``, content-language, ``og:locale``)."""
    root = tree.getroottree().getroot()
    declared = (
        root.get("lang") or root.get("xml:lang") or _meta(tree, "content-language", "og:locale", "language")
    )
    if not declared:
        for element in tree.iter("meta"):
            if (element.get("http-equiv") or "").lower() == "content-language":
                declared = element.get("content")
                break
    return normalize_language_code(declared)


def _position(item: dict[str, Any]) -> int:
    try:
        return int(item.get("position") or 0)
    except (TypeError, ValueError):
        return 0


def _breadcrumb_section(tree: HtmlElement, title: str | None) -> str | None:
    names: list[str] = []
    for obj in jsonld_objects(tree):
        if "breadcrumblist" in str(obj.get("@type", "")).lower():
            items = obj.get("itemListElement") or []
            if not isinstance(items, list):
                items = [items]
            items = sorted((i for i in items if isinstance(i, dict)), key=_position)
            for item in items:
                inner = item.get("item")
                name = _clean(item.get("name")) or (
                    _clean(inner.get("name")) if isinstance(inner, dict) else None
                )
                if name:
                    names.append(name)
            break
    if not names:
        for container in tree.xpath(
            "//*[contains(translate(@class, 'BREADCRUMB', 'breadcrumb'), 'breadcrumb')"
            " or contains(translate(@class, 'BREADCRUMB', 'breadcrumb'), 'bread-crumb')]"
        ):
            names = [t for t in (_clean(a.text_content()) for a in container.iter("a")) if t]
            if names:
                break
    for name in names:
        if name.lower() not in _HOME_LABELS and name != title:
            return name
    return None


def page_section(tree: HtmlElement, title: str | None, categories: list[str] | None = None) -> str | None:
    """Section: ``article:section``, JSON-LD ``articleSection``, trafilatura's categories, breadcrumbs."""
    found = _meta(tree, "article:section", "section", "category")
    if found:
        return found
    article = article_jsonld(tree)
    if article is not None:
        value = article.get("articleSection")
        if isinstance(value, list):
            value = value[0] if value else None
        if _clean(value):
            return _clean(value)
    if categories:
        return _clean(categories[0])
    return _breadcrumb_section(tree, title)


def find_lead(tree: HtmlElement) -> str | None:
    """The standfirst ("sapo") shown between the headline and the body, which trafilatura often skips:
    the first element with a sapo/lead/summary class within a few elements after the ``<h1>``."""
    seen_h1 = False
    distance = 0
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "h1":
            seen_h1 = True
            continue
        if not seen_h1:
            continue
        distance += 1
        if distance > _LEAD_WINDOW:
            return None
        if element.tag in ("p", "h2", "div", "span", "section", "strong") and _LEAD_CLASS.search(
            element.get("class", "")
        ):
            text = block_text(element)
            if text and 30 <= len(text) <= 1500:
                return text
    return None


def block_text(element: HtmlElement) -> str | None:
    """The element's text, NFC and whitespace-normalised, with a space where a block element or ``<br>``
    starts or ends: ``<div>Hà Giang</div>Ngày`` reads "Hà Giang Ngày" (``text_content()`` glues them)."""
    parts: list[str] = []
    for event, node in lxml.etree.iterwalk(element, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS or tag == "br":
                parts.append(" ")
            if node.text and tag:
                parts.append(node.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            if node is not element and node.tail:
                parts.append(node.tail)
    return _clean("".join(parts))


def _with_lead(body: str, lead: str | None) -> str:
    if not lead:
        return body
    squashed = " ".join(body[: len(lead) + 400].split())
    if lead in squashed or lead[:80] in squashed:
        return body
    return f"{lead}\n\n{body}" if body else lead


# --- selectors ------------------------------------------------------------------------------------


def _soup_paragraphs(element: Any) -> list[str]:
    """Text of a BeautifulSoup element split at block boundaries into whitespace-normalised paragraphs."""
    from bs4 import Comment, NavigableString

    paragraphs: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buffer).split())
        if text:
            paragraphs.append(text)
        buffer.clear()

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
            elif child.name in _SKIP_TAGS:
                continue
            elif child.name == "br":
                flush()
            elif child.name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(element)
    flush()
    return paragraphs


def apply_selectors(html: str, selectors: Mapping[str, str]) -> dict[str, list[Any]]:
    """Elements matched by each per-source CSS selector (BeautifulSoup + lxml); invalid or empty
    selectors and selectors that match nothing are simply absent from the result."""
    from bs4 import BeautifulSoup

    wanted = {k: v for k, v in selectors.items() if k in SELECTOR_FIELDS and isinstance(v, str) and v.strip()}
    for key in selectors:
        if key not in SELECTOR_FIELDS:
            log.warning("ignoring unknown selector field %r", key)
    if not wanted:
        return {}
    soup = BeautifulSoup(html, "lxml")
    matched: dict[str, list[Any]] = {}
    for key, selector in wanted.items():
        try:
            elements = soup.select(selector)
        except Exception as exc:  # soupsieve raises SelectorSyntaxError and friends
            log.warning("invalid %s selector %r: %s", key, selector, exc)
            continue
        if elements:
            matched[key] = elements
    return matched


def _selector_value(elements: list[Any]) -> str | None:
    element = elements[0]
    for attr in ("datetime", "content"):
        if element.get(attr):
            return _clean(element.get(attr))
    return _clean(element.get_text(" "))


def _plausible_title(title: str | None) -> bool:
    """Rejects empty titles and the markup an unclosed ``<title>`` swallows."""
    return bool(title) and len(title or "") <= 400 and not _MARKUP.search(title or "")


# --- main text ------------------------------------------------------------------------------------


def _paragraphs(text: str | None) -> str:
    if not text:
        return ""
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines())
    return "\n\n".join(line for line in lines if line)


def _without_leading_title(body: str, title: str | None) -> str:
    """Drop a first paragraph that only repeats the headline (the title is stored on its own)."""
    if not body or not title:
        return body
    first, _, rest = body.partition("\n\n")
    if rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        return rest
    return body


def _trafilatura(tree: HtmlElement, url: str | None, now: datetime, *, precise: bool, fast: bool) -> Any:
    """trafilatura's main text, title, author, description and categories for the page.

    The text comes from ``bare_extraction`` without its metadata pass, and those four fields from the same
    steps of that pass (:func:`_page_metadata`): the rest of it (an htmldate search whose date we never
    use, site name, tags, licence) costs about a fifth of the call. Same values either way (a test checks
    both on every test page); when trafilatura's functions are not where we expect them, the whole pass runs."""
    import trafilatura

    options = {**TRAFILATURA_OPTIONS, "favor_precision": precise}
    metadata = _page_metadata(tree)
    if metadata is not None:
        options["with_metadata"] = False
    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            fast=fast,
            **options,
            # Dates come from crawlers.dates; keep trafilatura's own htmldate pass cheap (when it runs).
            date_extraction_params={
                "original_date": True,
                "extensive_search": False,
                "max_date": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            },
        )
    except Exception as exc:  # trafilatura has many heuristic code paths; one bad page must not stop a crawl
        log.warning("trafilatura failed on %s: %s", url or "<document>", exc)
        return None
    if doc is not None and metadata is not None:
        for name in _METADATA_FIELDS:
            setattr(doc, name, getattr(metadata, name))
    return doc


_METADATA_FIELDS = ("title", "author", "description", "categories")


def _page_metadata(tree: HtmlElement) -> Any:
    """The fields of :data:`_METADATA_FIELDS` exactly as ``trafilatura.metadata.extract_metadata`` sets
    them (its steps for these fields, in its order, without an author blocklist, then its final trim),
    or None when trafilatura's functions cannot be reached (the caller then runs the whole pass)."""
    try:
        from trafilatura.metadata import (
            examine_meta,
            extract_author,
            extract_catstags,
            extract_meta_json,
            extract_title,
        )
    except ImportError:
        return None
    try:
        metadata = examine_meta(tree)
        if metadata.author and " " not in metadata.author:
            metadata.author = None
        try:
            metadata = extract_meta_json(tree, metadata)
        except Exception:  # as in extract_metadata: bugs in trafilatura's JSON metadata reader
            pass
        if not metadata.title:
            metadata.title = extract_title(tree)
        if not metadata.author:
            metadata.author = extract_author(tree)
        if not metadata.categories:
            metadata.categories = extract_catstags("category", tree)
        metadata.clean_and_trim()
    except Exception as exc:  # as for bare_extraction: one bad page must not stop a crawl
        log.warning("trafilatura's metadata failed: %s", exc)
        return None
    return metadata


# --- entry point ----------------------------------------------------------------------------------


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    content_type: str | None = None,
    selectors: Mapping[str, str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    language_hint: str | None = None,
    now: datetime | None = None,
) -> Article:
    """Extract the article in ``html`` (bytes are decoded with :func:`decode_html`).

    ``selectors`` maps any of "title", "text", "published", "updated", "author", "section" to a CSS
    selector that overrides automatic extraction; one that matches nothing falls back to it.
    Relative dates are measured from ``now`` (default: the current time). Bad, empty or binary input
    gives an Article with empty text; only a non-str/bytes ``html`` raises (TypeError), or an unknown
    ``timezone`` (ValueError).
    """
    encoding: str | None = None
    if isinstance(html, bytes | bytearray | memoryview):
        data = bytes(html)
        mime = (content_type or "").split(";", 1)[0].strip().lower()
        if mime.startswith(_BINARY_TYPES) or (looks_binary(data) and not looks_utf16(data)):
            return Article()
        text, encoding = decode_html(data, content_type)
    elif isinstance(html, str):
        if looks_binary(html):
            return Article()
        text = unicodedata.normalize("NFC", html)
    else:
        raise TypeError(f"extract_article expects str or bytes, not {type(html).__name__}")

    tz = zone(timezone)
    current = datetime.now(UTC) if now is None else (now if now.tzinfo else now.replace(tzinfo=tz))

    cleaned = strip_noise(text)
    tree = parse_html(cleaned)
    if tree is None:
        return Article(encoding=encoding)

    matched = apply_selectors(cleaned, selectors) if selectors else {}

    def selected(key: str) -> str | None:
        return _selector_value(matched[key]) if key in matched else None

    def selected_date(key: str) -> datetime | None:
        value = selected(key)
        return parse_date(value, timezone=timezone, now=current) if value else None

    dates = PageDates(selected_date("published"), selected_date("updated"), "selector")
    if dates.published is None:
        found = find_dates_in_html(tree, url, timezone=timezone, now=current)
        dates = PageDates(found.published, dates.updated or found.updated, found.source)

    # Huge pages skip trafilatura's readability/jusText fallbacks, which cost seconds there.
    fast = len(cleaned) > FAST_EXTRACTION_CHARS
    doc = _trafilatura(tree, url, current, precise=True, fast=fast)
    if doc is None or not (doc.text or "").strip():
        doc = _trafilatura(tree, url, current, precise=False, fast=fast) or doc

    body = _paragraphs(getattr(doc, "text", None))
    if "text" in matched:  # the source's own selector says where the text is: it replaces ours
        selected_text = [p for element in matched["text"] for p in _soup_paragraphs(element)]
        body = "\n\n".join(selected_text) or body
    elif body:
        body = _with_lead(body, find_lead(tree))

    h1 = next(tree.iter("h1"), None)
    candidates = (
        selected("title"),
        _clean(getattr(doc, "title", None)),
        _meta(tree, "og:title"),
        _clean(tree.findtext(".//title")),
        _clean(h1.text_content()) if h1 is not None else None,
    )
    title = next((t for t in candidates if _plausible_title(t)), None)
    body = _without_leading_title(body, title)

    author = selected("author") or _clean(getattr(doc, "author", None))
    if author:
        author = _AUTHOR_PREFIX.sub("", author).strip() or None

    section = selected("section") or page_section(tree, title, getattr(doc, "categories", None))

    description = _clean(getattr(doc, "description", None)) or _meta(tree, "description", "og:description")
    hint = normalize_language_code(language_hint) or page_language_hint(tree)
    language = detect_language(body or " ".join(filter(None, [title, description])), hint=hint)

    return Article(
        title=title,
        text=body,
        published=dates.published,
        updated=dates.updated,
        author=author,
        section=section,
        language=language,
        canonical_url=canonical_url(tree, url),
        description=description,
        encoding=encoding,
        date_source=dates.source if dates.published else None,
    )
