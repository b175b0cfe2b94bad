"""What the cluster's analyzers make of texts and documents: the inputs of alert matching.

Alert matching (:mod:`alerts.matcher`) evaluates queries in Python, so it must see exactly the tokens the
cluster indexes and searches with. Everything here asks the cluster itself, never a Python re-implementation:

* :func:`analyze_terms` — a query text's tokens and positions, from ``_analyze`` (one request per batch of
  texts, split back by offsets);
* :func:`document_terms` — a stored document's indexed terms with positions per field, from
  ``_mtermvectors`` (computed on the fly from ``_source`` with the field's own analyzer; keyword fields give
  their exact values; realtime, so documents need no refresh);
* :func:`document_values` — non-text field values (dates) from ``_source`` by a realtime ``mget``, parsed
  as Elasticsearch parses them (:func:`date_millis`);
* :func:`term_doc_freqs` — how many documents hold a term, for choosing selective anchors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from elasticsearch import Elasticsearch

Tokens = list[tuple[int, str]]
"""``(position, term)`` pairs in token order; positions count from the text's first token (0)."""

MAX_ANALYZE_UNITS = 8000
"""UTF-16 code units sent in one ``_analyze`` request: below ``index.analyze.max_token_count`` (10,000)
whatever the texts are, since every token covers at least one code unit."""
TERMVECTOR_BATCH = 200
"""Documents per ``_mtermvectors`` request."""


class AnalysisError(Exception):
    """The cluster's answer cannot be read back as asked (a contract of ``_analyze`` changed)."""


def _units(text: str) -> int:
    """Length in UTF-16 code units: the unit of Elasticsearch's offsets."""
    return len(text.encode("utf-16-le")) // 2


def analyze_terms(client: Elasticsearch, texts: Sequence[str], *, analyzer: str = "standard") -> list[Tokens]:
    """Each text's tokens as ``analyzer`` produces them: ``[[(position, term), …], …]`` in the order of ``texts``.

    Texts go in batches (one ``_analyze`` request each). Elasticsearch analyzes an array of texts as one
    stream whose offsets continue across texts (text ``i+1`` starts ``len(text i) + 1`` code units after text
    ``i``, the analyzer's offset gap), which is how tokens are handed back to their texts.
    """
    out: list[Tokens] = [[] for _ in texts]
    batch: list[int] = []
    size = 0
    for i, text in enumerate(texts):
        units = _units(text)
        if batch and size + units + 1 > MAX_ANALYZE_UNITS:
            _analyze_batch(client, texts, batch, analyzer, out)
            batch, size = [], 0
        batch.append(i)
        size += units + 1
    if batch:
        _analyze_batch(client, texts, batch, analyzer, out)
    return out


def _analyze_batch(
    client: Elasticsearch, texts: Sequence[str], batch: list[int], analyzer: str, out: list[Tokens]
) -> None:
    resp = client.indices.analyze(analyzer=analyzer, text=[texts[i] for i in batch])
    bounds: list[tuple[int, int]] = []  # [start, end] offsets of each text in the stream
    start = 0
    for i in batch:
        end = start + _units(texts[i])
        bounds.append((start, end))
        start = end + 1
    slot = 0
    first: dict[int, int] = {}
    for token in resp["tokens"]:
        while slot < len(batch) and token["start_offset"] > bounds[slot][1]:
            slot += 1
        if slot == len(batch) or token["end_offset"] > bounds[slot][1] or token["start_offset"] < bounds[slot][0]:
            raise AnalysisError(f"_analyze returned a token outside its text: {token!r}")
        index = batch[slot]
        base = first.setdefault(index, token["position"])
        out[index].append((token["position"] - base, token["token"]))


FieldTerms = dict[str, list[int]]
"""An indexed field of one document: term -> its positions."""


def document_terms(
    client: Elasticsearch, index: str, ids: Sequence[str], fields: Collection[str]
) -> tuple[dict[str, dict[str, FieldTerms]], dict[str, str]]:
    """The indexed terms of ``fields`` for each document: ``({doc_id: {field: {term: [positions]}}}, errors)``.

    One ``_mtermvectors`` request per :data:`TERMVECTOR_BATCH` documents, realtime. A field the document
    lacks is absent; a document that does not exist is absent from both maps; a document whose term vectors
    the cluster could not compute is in ``errors`` (doc_id -> reason) instead.
    """
    found: dict[str, dict[str, FieldTerms]] = {}
    errors: dict[str, str] = {}
    if not ids or not fields:
        return {doc_id: {} for doc_id in _existing(client, index, ids)} if ids else {}, errors
    names = sorted(fields)
    for start in range(0, len(ids), TERMVECTOR_BATCH):
        chunk = list(ids[start : start + TERMVECTOR_BATCH])
        resp = client.mtermvectors(
            index=index,
            ids=chunk,
            fields=names,
            positions=True,
            offsets=False,
            payloads=False,
            term_statistics=False,
            field_statistics=False,
            realtime=True,
        )
        for doc in resp["docs"]:
            if "error" in doc:
                errors[doc["_id"]] = str(doc["error"].get("reason", doc["error"]))
                continue
            if not doc.get("found"):
                continue
            per_field: dict[str, FieldTerms] = {}
            for name, vector in (doc.get("term_vectors") or {}).items():
                per_field[name] = {
                    term: [token["position"] for token in info.get("tokens", ())]
                    for term, info in vector["terms"].items()
                }
            found[doc["_id"]] = per_field
    return found, errors


def _existing(client: Elasticsearch, index: str, ids: Sequence[str]) -> list[str]:
    resp = client.mget(index=index, ids=list(ids), source=False, realtime=True)
    return [doc["_id"] for doc in resp["docs"] if doc.get("found")]


def document_values(
    client: Elasticsearch, index: str, ids: Sequence[str], fields: Collection[str]
) -> dict[str, dict[str, list[Any]]]:
    """``{doc_id: {field: [values]}}`` from ``_source`` (realtime ``mget``), dotted names for object fields;
    lists are flattened, nulls dropped. Documents that do not exist are absent."""
    out: dict[str, dict[str, list[Any]]] = {}
    if not ids:
        return out
    names = sorted(fields)
    for start in range(0, len(ids), TERMVECTOR_BATCH):
        chunk = list(ids[start : start + TERMVECTOR_BATCH])
        resp = client.mget(index=index, ids=chunk, source_includes=names or ["__none__"], realtime=True)
        for doc in resp["docs"]:
            if doc.get("found"):
                source = doc.get("_source") or {}
                out[doc["_id"]] = {name: _values(source, name.split(".")) for name in names}
    return out


def _values(node: Any, path: list[str]) -> list[Any]:
    if not path:
        items = node if isinstance(node, list) else [node]
        flat: list[Any] = []
        for item in items:
            flat.extend(_values(item, []) if isinstance(item, list) else ([] if item is None else [item]))
        return flat
    if isinstance(node, list):
        return [value for item in node for value in _values(item, path)]
    if isinstance(node, dict) and path[0] in node:
        return _values(node[path[0]], path[1:])
    return []


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def date_millis(value: Any, *, round_up: bool = False) -> int | None:
    """A date as Elasticsearch's default ``strict_date_optional_time||epoch_millis`` reads it, in epoch
    milliseconds (sub-millisecond digits truncated toward the past, as ES does); None if unreadable.

    ``round_up`` (the upper bound of ``lte``, the lower bound of ``gt``): as ES's date parser does, fields the
    text leaves out are filled with their largest value — ``2026-11-01`` is that day's last millisecond,
    ``2026-11-01T08:00:00`` is ``08:00:00.999``, ``…T08:00`` is ``08:00:59.999``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return math.floor(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lstrip("-").isdigit() and len(text) != 4:  # four digits are a year (the date format comes first)
        return int(text)
    try:
        day, _, clock = text.partition("T")
        if len(day) == 4:
            moment, unit = datetime(int(day), 1, 1, tzinfo=UTC), "year"
        elif len(day) == 7:
            moment, unit = datetime.strptime(day, "%Y-%m").replace(tzinfo=UTC), "month"
        elif not clock:
            moment, unit = datetime.combine(date.fromisoformat(day), time.min, UTC), "day"
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            digits = re.split(r"[Zz+-]", clock, maxsplit=1)[0]
            unit = "fraction" if "." in digits or "," in digits else ("hour", "minute", "second")[digits.count(":")]
    except (ValueError, IndexError):
        return None
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    millis = micros // 1000
    if round_up and unit != "fraction":
        millis += _span_millis(moment, unit) - 1
    return millis


def _span_millis(moment: datetime, unit: str) -> int:
    """Milliseconds in the calendar unit that starts at ``moment``."""
    if unit in _FIXED_SPANS:
        return _FIXED_SPANS[unit]
    if unit == "month":
        following = moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
    else:
        following = moment.replace(year=moment.year + 1)
    return (following - moment) // timedelta(milliseconds=1)


_FIXED_SPANS = {"second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def term_doc_freqs(
    client: Elasticsearch, index: str, field_terms: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], int]:
    """``{(field, term): number of documents holding it}`` over the index (0 when none), from the term
    statistics of an artificial document: one ``_termvectors`` request per field."""
    out: dict[tuple[str, str], int] = {}
    for name, terms in field_terms.items():
        wanted = sorted(set(terms))
        for term in wanted:
            out[(name, term)] = 0
        for start in range(0, len(wanted), 2000):
            chunk = wanted[start : start + 2000]
            resp = client.termvectors(
                index=index,
                doc={name: chunk},
                fields=[name],
                positions=False,
                offsets=False,
                term_statistics=True,
                field_statistics=False,
            )
            vector = (resp.get("term_vectors") or {}).get(name) or {}
            for term, info in (vector.get("terms") or {}).items():
                if (name, term) in out:
                    out[(name, term)] = int(info.get("doc_freq", 0))
    return out
