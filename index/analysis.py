"""What the cluster's analyzers make of texts and documents: the inputs of alert matching.

Alert matching (:mod:`alerts.matcher`) evaluates queries in Python, so it must see exactly the tokens the
cluster indexes and searches with. Everything here asks the cluster itself (the Python tokenizer that spares
it most documents, for text where it is provably the same, is :mod:`alerts.tokenize`):

* :func:`analyze_terms` — a query text's tokens and positions, from ``_analyze`` (one request per batch of
  texts, split back by offsets);
* :func:`document_terms` — a stored document's indexed terms with positions per field, from
  ``_mtermvectors`` (computed on the fly from ``_source`` with the field's own analyzer; keyword fields give
  their exact values; realtime, so documents need no refresh);
* :func:`document_values` — non-text field values (dates) from ``_source`` by a realtime ``mget``, parsed
  as Elasticsearch parses them (:func:`date_millis`);
* :func:`term_shares` — the share of documents holding a term, for choosing selective anchors.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote

from elastic_transport import HttpHeaders
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


_TERMVECTOR_PARTS = "docs._id,docs.found,docs.error,docs.term_vectors.*.terms.*.tokens.position"
"""Only what matching reads: decoding the JSON is most of a batch's cost, and term frequencies, versions and
timings would add a fifth to it."""
FieldTerms = dict[str, list[int]]
"""An indexed field of one document: term -> its positions."""


def document_terms(
    client: Elasticsearch,
    index: str,
    ids: Sequence[str],
    fields: Collection[str],
    *,
    fast: Mapping[str, str] | None = None,
) -> tuple[dict[str, dict[str, FieldTerms]], dict[str, str]]:
    """The indexed terms of ``fields`` for each document: ``({doc_id: {field: {term: [positions]}}}, errors)``.

    One ``_mtermvectors`` request per :data:`TERMVECTOR_BATCH` documents, realtime. A field the document
    lacks is absent; a document that does not exist is absent from both maps; a document whose term vectors
    the cluster could not compute is in ``errors`` (doc_id -> reason) instead.

    ``fast`` (the request headers a node needs, :func:`auth_headers`): read the answer with
    :func:`_compact_positions` first — the same content, several times cheaper to decode — and fall back to the
    ordinary client call whenever that path fails in any way.
    """
    found: dict[str, dict[str, FieldTerms]] = {}
    errors: dict[str, str] = {}
    if not ids or not fields:
        return {doc_id: {} for doc_id in _existing(client, index, ids)} if ids else {}, errors
    names = sorted(fields)
    for start in range(0, len(ids), TERMVECTOR_BATCH):
        chunk = list(ids[start : start + TERMVECTOR_BATCH])
        params = {
            "fields": names,
            "positions": True,
            "offsets": False,
            "payloads": False,
            "term_statistics": False,
            "field_statistics": False,
        }
        docs = _fast_termvectors(client, index, chunk, params, fast) if fast is not None else None
        if docs is None:
            resp = client.mtermvectors(index=index, ids=chunk, filter_path=_TERMVECTOR_PARTS, realtime=True, **params)
            docs = [_plain_positions(doc) for doc in resp.get("docs", ())]
        for doc in docs:
            if "error" in doc:
                error = doc["error"]
                errors[doc["_id"]] = str(error.get("reason", error) if isinstance(error, dict) else error)
                continue
            if doc.get("found"):
                found[doc["_id"]] = {name: v["terms"] for name, v in (doc.get("term_vectors") or {}).items()}
    return found, errors


def _plain_positions(doc: dict[str, Any]) -> dict[str, Any]:
    """A document of an ``_mtermvectors`` answer with each term's tokens as a list of positions."""
    vectors = doc.get("term_vectors") or {}
    for vector in vectors.values():
        vector["terms"] = {term: [t["position"] for t in info["tokens"]] for term, info in vector["terms"].items()}
    return doc


def auth_headers(settings: Any) -> dict[str, str]:
    """The authorisation header ``index.client.make_client`` gives the client for these settings (API key
    first, else basic auth), for requests sent to a node directly."""
    es = settings.es
    if es.api_key:
        return {"authorization": f"ApiKey {es.api_key}"}
    if es.username:
        token = base64.b64encode(f"{es.username}:{es.password or ''}".encode()).decode()
        return {"authorization": f"Basic {token}"}
    return {}


def _fast_termvectors(
    client: Elasticsearch, index: str, ids: list[str], params: dict[str, Any], headers: Mapping[str, str]
) -> list[dict[str, Any]] | None:
    """``_mtermvectors`` sent through one node of the client's own pool (its address and TLS settings) and
    read undecoded, then :func:`_compact_positions`. None when anything differs from the expected answer."""
    target = f"/{quote(index, safe=',')}/_mtermvectors?realtime=true&filter_path={_TERMVECTOR_PARTS}"
    body = json.dumps({"ids": ids, "parameters": params}).encode()
    try:
        node = client.transport.node_pool.get()
        resp = node.perform_request(
            "POST",
            target,
            body=body,
            headers=HttpHeaders({"content-type": "application/json", "accept": "application/json", **headers}),
        )
    except Exception:  # noqa: BLE001 - any failure: the ordinary client call retries and reports it
        return None
    if resp.meta.status != 200 or not isinstance(resp.body, bytes):
        return None
    return _compact_positions(resp.body)


_DIGITS = [str(d).encode() for d in range(10)]


def _compact_positions(raw: bytes) -> list[dict[str, Any]] | None:
    """Decode an ``_mtermvectors`` answer (filtered to :data:`_TERMVECTOR_PARTS`) with every term's
    ``{"tokens":[{"position":3},{"position":9}]}`` rewritten as ``[3,9]`` on the bytes first: JSON decoding
    then builds one list per term instead of two objects per token. None if the rewrite is not provably exact.

    The rewritten patterns hold unescaped quotes, so they cannot occur inside a JSON string, except the
    closing ``<digit>}]}``; that one occurs once per term, so if the count of rewrites equals the count of terms
    decoded, no string was touched.
    """
    text = raw.replace(b'{"tokens":[{"position":', b"[").replace(b'},{"position":', b",")
    closed = 0
    for digit in _DIGITS:
        pattern = digit + b"}]}"
        closed += text.count(pattern)
        text = text.replace(pattern, digit + b"]")
    try:
        docs = json.loads(text)["docs"]
    except (ValueError, KeyError, TypeError):
        return None
    terms = 0
    for doc in docs:
        for vector in (doc.get("term_vectors") or {}).values():
            values = vector["terms"]
            terms += len(values)
            if not all(type(positions) is list for positions in values.values()):
                return None
    return docs if terms == closed else None


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


class TermStats(NamedTuple):
    """How common a term is in one field: ``share`` of the documents having the field that hold it,
    ``per_token`` = its occurrences / all tokens of the field, ``length`` = average tokens per document."""

    share: float
    per_token: float
    length: float


def term_shares(
    client: Elasticsearch, index: str, field_terms: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], TermStats]:
    """:class:`TermStats` for each ``(field, term)`` (zeros when no document holds it), from the term and field
    statistics of an artificial document: one ``_termvectors`` request per field and 2,000 terms."""
    out: dict[tuple[str, str], TermStats] = {}
    for name, terms in field_terms.items():
        wanted = sorted(set(terms))
        for start in range(0, len(wanted), 2000):
            chunk = wanted[start : start + 2000]
            resp = client.termvectors(
                index=index,
                doc={name: chunk},
                fields=[name],
                positions=False,
                offsets=False,
                term_statistics=True,
                field_statistics=True,
            )
            vector = (resp.get("term_vectors") or {}).get(name) or {}
            stats = vector.get("field_statistics") or {}
            docs = max(int(stats.get("doc_count", 0)), 1)
            tokens = max(int(stats.get("sum_ttf", 0)), 1)
            found = vector.get("terms") or {}
            for term in chunk:
                info = found.get(term) or {}
                out[(name, term)] = TermStats(
                    int(info.get("doc_freq", 0)) / docs, int(info.get("ttf", 0)) / tokens, tokens / docs
                )
    return out
