"""Stable identities: canonical URLs, document ids and content fingerprints."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|_ga|zarsrc|gidzl)$", re.I)
_WORD = re.compile(r"\w+", re.UNICODE)
SUBSTANTIVE_WORDS = 8


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """Normalise a URL for identity: lowercase host, no default port, no tracking parameters,
    sorted query, no fragment unless ``keep_fragment`` (forum post anchors keep theirs)."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    host = (parts.hostname or "").lower()
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    cleaned = urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, parts.fragment))
    return canonicalize_url(cleaned, keep_fragments=keep_fragment)


def doc_id(url: str) -> str:
    """Document id: SHA-1 of the canonical URL (a re-crawl updates the same document)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(_WORD.findall(text))


def content_hash(text: str) -> str:
    """Fingerprint of what an article says, stable across outlets that republish it.

    Hashes the substantive paragraphs (at least 8 words) after NFC + lowercase + punctuation
    removal, so a reprint that only adds "Theo Báo X" or a byline keeps the same hash.
    Short texts (forum posts) hash whole.
    """
    paragraphs = [normalise_text(p) for p in re.split(r"\n\s*\n|\n", text)]
    substantive = [p for p in paragraphs if len(p.split()) >= SUBSTANTIVE_WORDS]
    basis = "\n".join(substantive) if substantive else normalise_text(text)
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()
