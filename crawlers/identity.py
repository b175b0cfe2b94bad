"""Stable identities: canonical URLs, document ids and content fingerprints."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|_ga|zarsrc|gidzl)$", re.I)
_WORD = re.compile(r"\w+", re.UNICODE)
#: A paragraph with at least this many words is substantive (bylines and "Theo Báo X" are not).
SUBSTANTIVE_WORDS = 8
#: A text with fewer substantive words than this ("cảm ơn bạn", "+1, mình cũng gặp") proves no copying.
SHORT_TEXT_WORDS = 20
# A query that is a path ("index.php?threads/x.123/", "showthread.php?123-slug/page2"): a route, not parameters.
_ROUTE_QUERY = re.compile(r"^[^=&#]*/[^=&#]*$")
_ROUTE_SAFE = "/-._~!$'()*+,;:@%"


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """Normalise a URL for identity: lowercase host, no default port, no tracking parameters,
    sorted query, no fragment unless ``keep_fragment`` (forum post anchors keep theirs).

    A query that is a path (XenForo's ``index.php?threads/x.123/``, vBulletin 4's
    ``showthread.php?123-slug/page2``) is kept as written, percent-encoding aside: sorting it as
    parameters would turn it into ``threads%2Fx.123%2F=``, which the forum no longer routes.
    ValueError for a URL that cannot be parsed (a bad port, an unclosed ``[``)."""
    parts = urlsplit(url.strip())
    route = parts.query if _ROUTE_QUERY.match(parts.query) else None
    query = "" if route is not None else urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    cleaned = urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, parts.fragment))
    result = canonicalize_url(cleaned, keep_fragments=keep_fragment)
    if route is None:
        return result
    head, sep, fragment = result.partition("#")
    return f"{head}?{quote(route, safe=_ROUTE_SAFE)}{sep}{fragment}"


def doc_id(url: str) -> str:
    """Document id: SHA-1 of the canonical URL (a re-crawl updates the same document)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(_WORD.findall(text))


def _substantive_basis(text: str) -> tuple[str, int]:
    """The substantive paragraphs, normalised and joined (the whole text when none is), and their word count."""
    paragraphs = [normalise_text(p) for p in re.split(r"\n\s*\n|\n", text)]
    substantive = [p for p in paragraphs if len(p.split()) >= SUBSTANTIVE_WORDS]
    basis = "\n".join(substantive) if substantive else normalise_text(text)
    return basis, len(basis.split())


def is_short_text(text: str) -> bool:
    """True when what :func:`content_hash` fingerprints (the substantive paragraphs, else the whole text)
    has fewer than :data:`SHORT_TEXT_WORDS` words: a greeting, a "+1", a one-line reply. Such texts are
    common to many documents without any copying."""
    return _substantive_basis(text)[1] < SHORT_TEXT_WORDS


def content_hash(text: str, *, document: str | None = None) -> str:
    """Fingerprint of what a document says, equal for syndicated copies and reprints of it.

    Hashes the substantive paragraphs (at least 8 words) after NFC + lowercase + punctuation
    removal, so a reprint that only adds "Theo Báo X" or a byline keeps the same hash.

    A short text (:func:`is_short_text`: "cảm ơn bạn", "+1, mình cũng gặp y như vậy") is said by many
    people without copying anyone, so given ``document`` (the document's canonical URL) its fingerprint
    is keyed by that document: stable across re-crawls of it, equal to no other document's. Callers
    whose documents can be short (forum posts) must pass ``document``; without it a short text hashes
    whole, as before, and identical short texts share a hash.
    """
    basis, words = _substantive_basis(text)
    if document is not None and words < SHORT_TEXT_WORDS:
        basis = f"short text of {document}\n{normalise_text(text)}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()
