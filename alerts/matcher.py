"""Alert matching: which saved queries each new document matches — exactly the documents ``mediawatch search``
would return for them.

**Contract.** A document matches a subscription if and only if :func:`index.search.search` with the
subscription's query and filters returns it (``tests/test_matcher.py`` checks this on random queries of the
whole grammar against random documents in a real node).

**Why it is the same, by construction.** The local node has no percolator, so matching is evaluated here,
in Python, over what the cluster itself produced:

* The plan of a subscription is compiled from **the very query search sends**:
  ``index.search.build_query`` (``index.query.to_es`` plus the filters) is interpreted clause by clause —
  ``bool`` (must/filter/should with ``minimum_should_match``, must_not), ``constant_score``, ``multi_match``
  (``most_fields``/``best_fields``: per field, all tokens with ``operator: and``, any with ``or``),
  ``match``, ``match_phrase`` (consecutive positions, slop 0), ``prefix`` (plain or ``case_insensitive``),
  ``term``/``terms`` on keywords, ``range`` on dates, ``match_all``/``match_none``. Scoring (boosts,
  constant-score tiers) never changes the match set and is dropped. A clause or option outside this list
  makes the subscription a :attr:`Matcher.fallback`, matched by a real search (see :func:`match_documents`),
  so a later change of the query compiler can slow matching down but never make it wrong.
* Query texts are analyzed by the cluster (``_analyze`` with the fields' ``standard`` analyzer, once per
  distinct text when the matcher is built: :func:`index.analysis.analyze_terms`). Documents' terms and
  positions are read from their ``_source`` (:class:`SourceReader`): keyword fields are their exact values,
  and text made only of the characters on which :mod:`alerts.tokenize` provably reproduces the ``standard``
  analyzer (Lucene's UAX#29 grammar over ASCII, Latin and Vietnamese letters, digits and common punctuation;
  checked character by character against ``_analyze``) is tokenised in Python; any other document — a
  character outside that set, a token near the 255-character cap, a value shape the reader does not
  reproduce — gets its terms from the cluster (``_mtermvectors``: :func:`index.analysis.document_terms`).
  The ``*_folded`` fields are read as stored. So "the tokens of ``covid-19``", "is ``TP.HCM`` one token",
  "what does the folded field hold" are answered as the cluster answers them. Dates, the only values not read
  as terms, are parsed as Elasticsearch parses its default date format (:func:`index.analysis.date_millis`,
  sub-millisecond digits truncated as ES does).

**Why the cost grows with documents, not subscriptions × documents.** Plans are hash-consed (identical
subscriptions share one) and indexed by anchors (:mod:`alerts.presearch`): a word anchors on one of its
tokens per field, a phrase on one of its tokens or adjacent pairs, a prefix on itself, ``OR`` on the union of
its parts, ``AND`` on its most selective required part (the lowest estimated document frequency), ``NOT``,
dates and match-all on nothing. A document's terms are looked up in that index, and only the candidates it
yields are evaluated. Each plan is compiled to one Python function (:class:`_Codegen`: set lookups inline,
a phrase as its adjacent term pairs), and batches are shared with worker processes, one per further core
(:meth:`Matcher.match_sources`).

:class:`Matcher` is pure (no I/O but its own worker processes); :func:`match_documents` is the thin layer
that reads a batch's ``_source`` (or takes it from the caller) and calls it.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import multiprocessing
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from elasticsearch import Elasticsearch

from alerts.presearch import Anchor, Anchors, Presearcher, cheapest, cost, union
from alerts.tokenize import standard_tokens
from index.analysis import Tokens, date_millis
from index.mappings import DOC_PROPERTIES
from index.query import FIELDS as QUERY_FIELDS
from index.query import FOLDED_FIELDS, FOLDED_SUFFIX
from index.search import SearchRequest, build_query
from mediawatch.config import Settings
from mediawatch.errors import QuerySyntaxError

__all__ = [
    "DocTerms",
    "Matcher",
    "MatcherSubscription",
    "SOURCE_FIELDS",
    "SourceReader",
    "UnsupportedQuery",
    "match_documents",
]

Analyze = Callable[[list[str]], list[Tokens]]
"""Texts -> their ``standard``-analyzer tokens as ``(position, term)`` (``index.analysis.analyze_terms``)."""
DocFreq = Callable[[Mapping[str, set[str]]], Mapping[tuple[str, str], Any]]
"""``{field: {terms}}`` -> ``{(field, term): stats}`` with ``share`` (of documents holding the term),
``per_token`` (its share of all tokens) and ``length`` (tokens per document) attributes
(``index.analysis.term_shares``)."""


@dataclass(frozen=True)
class MatcherSubscription:
    """What matching needs of a subscription: its id, query and the filters of ``mediawatch search``
    (empty: no restriction; dates are aware datetimes, inclusive, as ``SearchRequest`` takes them)."""

    id: str
    query: str
    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    date_from: datetime | None = None
    date_to: datetime | None = None

    def request(self) -> SearchRequest:
        """The search this subscription stands for."""
        return SearchRequest(
            query=self.query,
            sources=self.sources,
            kinds=self.kinds,
            languages=self.languages,
            topics=self.topics,
            sentiments=self.sentiments,
            date_from=self.date_from,
            date_to=self.date_to,
        )


@dataclass(frozen=True)
class DocTerms:
    """One document as the matcher sees it: ``terms`` = field -> indexed term -> positions (text and keyword
    fields, as ``_termvectors`` gives them); ``values`` = date field -> epoch milliseconds; ``sequences`` =
    text field -> its terms in order, for fields tokenised in Python (:class:`SourceReader`): a term's
    positions are its indices there, and its entry in ``terms`` is only the set of its terms."""

    id: str
    terms: Mapping[str, Mapping[str, Sequence[int]] | AbstractSet[str]]
    values: Mapping[str, Sequence[int]] = field(default_factory=dict)
    sequences: Mapping[str, Sequence[str]] = field(default_factory=dict)


class UnsupportedQuery(Exception):
    """A compiled query uses a clause or option the matcher does not evaluate (it falls back to search)."""


# --------------------------------------------------------------------------- plans


class _View:
    """A document during one match: its terms, the prefixes it holds, and memoised node results."""

    __slots__ = ("terms", "values", "held", "memo", "sequences", "_positions", "_joined")

    def __init__(self, doc: DocTerms, held: set[tuple[str, str]]) -> None:
        self.terms = doc.terms
        self.values = doc.values
        self.sequences = doc.sequences
        self.held = held
        self.memo: dict[int, bool] = {}
        self._positions: dict[tuple[str, str], frozenset[int]] = {}
        self._joined: dict[str, str | None] = {}

    def positions(self, field_name: str, term: str) -> frozenset[int]:
        key = (field_name, term)
        found = self._positions.get(key)
        if found is None:
            sequence = self.sequences.get(field_name)
            if sequence is not None:
                found = frozenset(i for i, t in enumerate(sequence) if t == term)
            else:
                found = frozenset((self.terms.get(field_name) or {}).get(term) or ())
            self._positions[key] = found
        return found

    def phrase_text(self, field_name: str) -> Any:
        """What a phrase's ``needle in`` reads: :meth:`joined`, else a :class:`_Joined`."""
        text = self.joined(field_name)
        return _Joined(self, field_name) if text is None else text

    def joined(self, field_name: str) -> str | None:
        """The field's terms in position order as ``" a b c "`` (a position no term holds is an empty term), or
        None when that does not say what positions do (several terms at one position, a term with a space)."""
        try:
            return self._joined[field_name]
        except KeyError:
            pass
        sequence = self.sequences.get(field_name)
        if sequence is None:
            sequence = _sequence(self.terms.get(field_name) or {})
        text = None if sequence is None else " ".join(itertools.chain(_EDGE, sequence, _EDGE))
        self._joined[field_name] = text
        return text


_EDGE = ("",)


def _sequence(terms: Mapping[str, Sequence[int] | None]) -> list[str] | None:
    """Terms by position from ``{term: positions}`` (gaps hold ``""``); None if two terms share a position or a
    term holds a space."""
    placed: dict[int, str] = {}
    for term, positions in terms.items():
        if " " in term or not term or positions is None:
            return None
        for position in positions:
            if position < 0 or placed.setdefault(position, term) != term:
                return None
    out = [""] * (max(placed) + 1 if placed else 0)
    for position, term in placed.items():
        out[position] = term
    return out


class _Node:
    """A plan node. :meth:`check` is its answer for a document: :meth:`test` memoised by ``number`` (shared
    subtrees are decided once per document); leaves that cost one or two lookups skip the memo."""

    __slots__ = ("number", "cost")

    def __init__(self) -> None:
        self.number = -1
        self.cost = 1.0

    def check(self, view: _View) -> bool:
        memo = view.memo
        result = memo.get(self.number)
        if result is None:
            result = memo[self.number] = self.test(view)
        return result

    def test(self, view: _View) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:  # pragma: no cover - abstract
        raise NotImplementedError

    def fields(self) -> Iterable[tuple[str, str]]:
        """``(field, "terms" | "values")`` this node reads."""
        return ()


class _Const(_Node):
    __slots__ = ("result",)

    def __init__(self, result: bool) -> None:
        super().__init__()
        self.result = result

    def test(self, view: _View) -> bool:
        return self.result

    check = test

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        return None if self.result else frozenset()


class _AllTokens(_Node):
    """``match``/``multi_match`` on one field with ``operator: and``: every position's token (any of its
    alternatives) is among the field's terms. A single token is a plain term query."""

    __slots__ = ("field", "groups", "singles", "choices")

    def __init__(self, field_name: str, groups: tuple[tuple[str, ...], ...]) -> None:
        super().__init__()
        self.field = field_name
        self.groups = groups
        self.singles = tuple(group[0] for group in groups if len(group) == 1)
        self.choices = tuple(group for group in groups if len(group) > 1)

    def arrange(self, weight: Callable[[Anchor], float]) -> None:
        """Check the rarest token first, so most documents are turned down by one lookup."""
        self.singles = tuple(sorted(self.singles, key=lambda t: weight(("t", self.field, t))))

    def test(self, view: _View) -> bool:
        terms = view.terms.get(self.field)
        if not terms:
            return False
        for term in self.singles:
            if term not in terms:
                return False
        for group in self.choices:
            if not any(term in terms for term in group):
                return False
        return True

    check = test  # a few lookups: cheaper than the memo

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        return cheapest((frozenset(("t", self.field, t) for t in group) for group in self.groups), weight)

    def fields(self) -> Iterable[tuple[str, str]]:
        return ((self.field, "terms"),)


class _Phrase(_AllTokens):
    """``match_phrase`` (slop 0): every token present (as :class:`_AllTokens`), at its relative position from
    one common start."""

    __slots__ = ("steps", "needle")

    def __init__(self, field_name: str, steps: tuple[tuple[int, tuple[str, ...]], ...]) -> None:
        super().__init__(field_name, tuple(group for _, group in steps))
        self.steps = steps
        # One term per step at consecutive positions (always so from the standard analyzer): the phrase is
        # " a b c " inside the field's joined terms (View.joined), as terms hold neither spaces nor nothing.
        words = [group[0] for _, group in steps]
        plain = all(offset == i and len(group) == 1 for i, (offset, group) in enumerate(steps))
        self.needle = f" {' '.join(words)} " if plain and all(w and " " not in w for w in words) else None

    check = _Node.check

    def test(self, view: _View) -> bool:
        if not _AllTokens.test(self, view):
            return False
        if self.needle is not None:
            text = view.joined(self.field)
            if text is not None:
                return self.needle in text
        sets = []
        for offset, group in self.steps:
            found = view.positions(self.field, group[0])
            for term in group[1:]:
                found = found | view.positions(self.field, term)
            sets.append((len(found), offset, found))
        sets.sort(key=lambda item: item[0])
        _, pivot_offset, pivot = sets[0]
        rest = [(offset, found) for _, offset, found in sets[1:]]
        for position in pivot:
            start = position - pivot_offset
            for offset, found in rest:
                if start + offset not in found:
                    break
            else:
                return True
        return False

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        """One token, or one pair of adjacent tokens (``("b", field, "a b")``: far rarer than either word,
        which matters for Vietnamese, where the syllables of names are common words)."""
        options: list[Anchors] = [frozenset(("t", self.field, t) for t in group) for _, group in self.steps]
        for (first, left), (second, right) in itertools.pairwise(self.steps):
            if second == first + 1:
                options.append(frozenset(("b", self.field, f"{a} {b}") for a in left for b in right))
        return cheapest(options, weight)


def _case_variants(ch: str) -> frozenset[str]:
    """What Lucene's case-insensitive automaton accepts for one character (its simple other case)."""
    out = {ch}
    for other in (ch.lower(), ch.upper()):
        if len(other) == 1:
            out.add(other)
    return frozenset(out)


def _lowercase_only(ch: str) -> bool:
    """A lower-case character whose only other case maps straight back (so an analyzed, lower-cased term
    can hold it in one way only)."""
    upper = ch.upper()
    return ch.lower() == ch and len(upper) == 1 and upper.lower() == ch


class _Prefix(_Node):
    """``prefix``: some indexed term of the field starts with ``value`` (case-insensitively when asked)."""

    __slots__ = ("field", "value", "insensitive", "probe", "variants")

    def __init__(self, field_name: str, value: str, insensitive: bool, lowercased_field: bool) -> None:
        super().__init__()
        self.field = field_name
        self.value = value
        self.insensitive = insensitive
        self.variants = tuple(_case_variants(ch) for ch in value)
        # Probed by the presearcher (plain startswith on the term) when that is exactly the query's test.
        exact = not insensitive or (lowercased_field and all(_lowercase_only(ch) for ch in value))
        self.probe = bool(value) and exact

    def test(self, view: _View) -> bool:
        if self.probe:
            return (self.field, self.value) in view.held
        terms = view.terms.get(self.field)
        if not terms:
            return False
        if not self.insensitive:
            return any(term.startswith(self.value) for term in terms)
        size = len(self.variants)
        return any(
            len(term) >= size and all(ch in variants for ch, variants in zip(term, self.variants, strict=False))
            for term in terms
        )

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        return frozenset({("p", self.field, self.value)}) if self.probe else None

    def fields(self) -> Iterable[tuple[str, str]]:
        return ((self.field, "terms"),)


class _Keyword(_Node):
    """``term``/``terms`` on a keyword field: one of the exact values is indexed."""

    __slots__ = ("field", "values")

    def __init__(self, field_name: str, values: tuple[str, ...]) -> None:
        super().__init__()
        self.field = field_name
        self.values = values

    def test(self, view: _View) -> bool:
        terms = view.terms.get(self.field)
        return bool(terms) and any(value in terms for value in self.values)

    check = test

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        return frozenset(("t", self.field, value) for value in self.values)

    def fields(self) -> Iterable[tuple[str, str]]:
        return ((self.field, "terms"),)


class _Range(_Node):
    """``range`` on a date field, bounds in epoch milliseconds (inclusive)."""

    __slots__ = ("field", "low", "high")

    def __init__(self, field_name: str, low: int | None, high: int | None) -> None:
        super().__init__()
        self.field = field_name
        self.low = low
        self.high = high

    def test(self, view: _View) -> bool:
        low, high = self.low, self.high
        return any(
            (low is None or value >= low) and (high is None or value <= high)
            for value in view.values.get(self.field, ())
        )

    check = test

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        return None

    def fields(self) -> Iterable[tuple[str, str]]:
        return ((self.field, "values"),)


class _Bool(_Node):
    """``bool``: every ``required`` part, no ``excluded`` part, and at least ``least`` of ``should``."""

    __slots__ = ("required", "excluded", "should", "least")

    def __init__(
        self, required: tuple[_Node, ...], excluded: tuple[_Node, ...], should: tuple[_Node, ...], least: int
    ) -> None:
        super().__init__()
        self.required = required
        self.excluded = excluded
        self.should = should
        self.least = least

    def test(self, view: _View) -> bool:
        for node in self.required:
            if not node.check(view):
                return False
        for node in self.excluded:
            if node.check(view):
                return False
        least = self.least
        if least <= 0:
            return True
        for node in self.should:
            if node.check(view):
                least -= 1
                if not least:
                    return True
        return False

    def check(self, view: _View) -> bool:
        memo = view.memo
        result = memo.get(self.number)
        if result is None:
            result = memo[self.number] = self.test(view)
        return result

    def anchors(self, weight: Callable[[Anchor], float]) -> Anchors:
        options = [node.anchors(weight) for node in self.required]
        if self.least > len(self.should):
            return frozenset()
        if self.least > 0:
            options.append(union(node.anchors(weight) for node in self.should))
        return cheapest(options, weight)


# --------------------------------------------------------------------------- plans as Python code


PlanTest = Callable[[Sequence[Any], Sequence[Any], set[tuple[str, str]], "_View"], bool]
"""A plan compiled to one Python function: ``(terms by field number, adjacent term pairs by field number (for
fields phrases read), held prefix probes, the view) -> matches``."""


class _Joined:
    """A field's phrase test when its joined text is unknown (several terms at one position): ``needle in``
    it checks the needle's words at consecutive positions, as :meth:`_Phrase.test` does."""

    __slots__ = ("view", "field")

    def __init__(self, view: _View, field_name: str) -> None:
        self.view, self.field = view, field_name

    def __contains__(self, needle: str) -> bool:
        words = needle.split(" ")[1:-1]
        sets = [self.view.positions(self.field, word) for word in words]
        return any(all(start + i in found for i, found in enumerate(sets)) for start in sets[0])


class _Adjacent:
    """A field's adjacent pairs when its terms do not form one sequence: ``(a, b) in`` it checks positions."""

    __slots__ = ("view", "field")

    def __init__(self, view: _View, field_name: str) -> None:
        self.view, self.field = view, field_name

    def __contains__(self, pair: tuple[str, str]) -> bool:
        after = self.view.positions(self.field, pair[1])
        return any(position + 1 in after for position in self.view.positions(self.field, pair[0]))


def _adjacent(doc: DocTerms, name: str) -> AbstractSet[tuple[str, str]] | None:
    """Every ``(a, b)`` of terms at consecutive positions of the field (none for a position no term holds), or
    None when several terms share a position."""
    sequence = doc.sequences.get(name)
    if sequence is None:
        sequence = _sequence(doc.terms.get(name) or {})
        if sequence is None:
            return None
    return set(zip(sequence, itertools.islice(sequence, 1, None), strict=False))


class _Codegen:
    """Plans -> Python functions, one per plan: the same tests as the nodes' ``test`` methods, in the same
    order, written out inline (a membership test is one bytecode instead of a method call and a memo lookup;
    shared subtrees are evaluated once per plan that holds them instead of once per document, which costs less
    than memoising them). Exactness rests on the node methods: each clause below is its node's ``test``."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = {name: i for i, name in enumerate(fields)}
        self.consts: list[Any] = []
        self.used: set[int] = set()
        self.paired: set[int] = set()
        self.phrased: set[str] = set()
        """Fields some phrase reads (over all plans)."""

    def const(self, value: Any) -> str:
        self.consts.append(value)
        return f"c[{len(self.consts) - 1}]"

    def field(self, name: str) -> int:
        number = self.fields[name]
        self.used.add(number)
        return number

    def expr(self, node: _Node) -> str:  # noqa: PLR0911 - one branch per node type
        if isinstance(node, _Const):
            return "True" if node.result else "False"
        if isinstance(node, _Phrase) and node.needle is not None:
            # Each adjacent pair (for two words that is the phrase), then the whole phrase in the joined terms.
            number = self.fields[node.field]
            self.paired.add(number)
            self.phrased.add(node.field)
            words = node.needle.split(" ")[1:-1]
            tests = [f"{pair!r} in p{number}" for pair in itertools.pairwise(words)]
            if len(words) > 2:
                tests.append(f"{node.needle!r} in v.phrase_text({node.field!r})")
            return "(" + " and ".join(tests) + ")"
        if isinstance(node, _AllTokens):
            number = self.field(node.field)
            tests = [f"{term!r} in t{number}" for term in node.singles]
            tests += ["(" + " or ".join(f"{term!r} in t{number}" for term in group) + ")" for group in node.choices]
            if isinstance(node, _Phrase):
                tests.append(f"{self.const(node.test)}(v)")
            return "(" + " and ".join(tests) + ")" if tests else "False"
        if isinstance(node, _Prefix):
            if node.probe:
                return f"{(node.field, node.value)!r} in h"
            return f"{self.const(node.test)}(v)"
        if isinstance(node, _Keyword):
            number = self.field(node.field)
            if len(node.values) <= 4:
                return "(" + " or ".join(f"{value!r} in t{number}" for value in node.values) + ")"
            return f"not {self.const(frozenset(node.values))}.isdisjoint(t{number})"
        if isinstance(node, _Range):
            return f"{self.const(node.test)}(v)"
        if isinstance(node, _Bool):
            parts = [self.expr(n) for n in node.required]
            parts += [f"not {self.expr(n)}" for n in node.excluded]
            if node.least == 1:
                parts.append("(" + " or ".join(self.expr(n) for n in node.should) + ")")
            elif node.least > 1:
                parts.append("(" + " + ".join(f"({self.expr(n)})" for n in node.should) + f" >= {node.least})")
            return "(" + " and ".join(parts) + ")" if parts else "True"
        return f"{self.const(node.check)}(v)"  # pragma: no cover - every node type is written out above

    def function(self, name: str, node: _Node) -> str:
        self.used, self.paired = set(), set()
        body = self.expr(node)
        unpack = "".join(f"    t{n} = t[{n}]\n" for n in sorted(self.used))
        unpack += "".join(f"    p{n} = p[{n}]\n" for n in sorted(self.paired))
        return f"def {name}(t, p, h, v):\n{unpack}    return {body}\n"


_NOTHING: Mapping[str, Any] = MappingProxyType({})


def _walk_fields(node: _Node) -> Iterable[tuple[str, str]]:
    """Every ``(field, kind)`` read by ``node`` and its parts."""
    yield from node.fields()
    if isinstance(node, _Bool):
        for part in (*node.required, *node.excluded, *node.should):
            yield from _walk_fields(part)


def _compile_plans(roots: Sequence[_Node], fields: Sequence[str]) -> tuple[list[PlanTest], frozenset[str]]:
    """One function per plan (:class:`_Codegen`; a plan too deep for Python's parser keeps its nodes), and the
    fields whose joined text the functions read."""
    gen = _Codegen(fields)
    tests: list[PlanTest] = []
    for number, root in enumerate(roots):
        source = gen.function(f"plan{number}", root)
        scope: dict[str, Any] = {"c": gen.consts}
        try:
            exec(compile(source, f"<plan {number}>", "exec"), scope)  # noqa: S102 - our own generated code
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            tests.append(lambda t, p, h, v, root=root: root.check(v))
            continue
        tests.append(scope[f"plan{number}"])
    return tests, frozenset(gen.phrased)


# --------------------------------------------------------------------------- compiling the search query


def _flatten(properties: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(_flatten(spec["properties"], f"{path}."))
            continue
        out[path] = spec
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = sub_spec
    return out


_SCORING = frozenset({"boost", "_name"})


def _only(body: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    extra = set(body) - set(allowed) - _SCORING
    if extra:
        raise UnsupportedQuery(f"{what}: option(s) {sorted(extra)} are not evaluated by the matcher")


def _one(clause: Mapping[str, Any], what: str) -> tuple[str, Any]:
    if not isinstance(clause, Mapping) or len(clause) != 1:
        raise UnsupportedQuery(f"{what}: expected an object with one key, got {clause!r}")
    return next(iter(clause.items()))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _pure_or(node: _Node) -> bool:
    """A ``bool`` that is only "one of these"."""
    return isinstance(node, _Bool) and not node.required and not node.excluded and node.least == 1


class _Compiler:
    """ES query DSL -> interned plan nodes. ``tokens`` maps query texts to their analysis; in the first pass
    (``collect``) unknown texts are recorded instead."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.types = _flatten(properties)
        self.tokens: dict[str, Tokens] = {}
        self.wanted: set[str] = set()
        self.collect = True
        self.interned: dict[Any, _Node] = {}
        self.nodes: list[_Node] = []

    # -- interning

    def _intern(self, key: Any, make: Callable[[], _Node]) -> _Node:
        node = self.interned.get(key)
        if node is None:
            node = make()
            node.number = len(self.nodes)
            self.nodes.append(node)
            self.interned[key] = node
        return node

    def const(self, result: bool) -> _Node:
        return self._intern(("const", result), lambda: _Const(result))

    # -- fields and analysis

    def _text_field(self, name: str, what: str) -> str:
        spec = self.types.get(name)
        if spec is None or spec.get("type") != "text":
            raise UnsupportedQuery(f"{what}: {name!r} is not a text field of the documents mapping")
        analyzer = spec.get("search_analyzer") or spec.get("analyzer") or "standard"
        if analyzer != "standard":
            raise UnsupportedQuery(f"{what}: field {name!r} uses analyzer {analyzer!r}; only 'standard' is evaluated")
        return name

    def _type(self, name: str) -> str | None:
        spec = self.types.get(name)
        return None if spec is None else spec.get("type")

    def _analyzed(self, text: Any, what: str) -> list[tuple[int, tuple[str, ...]]]:
        """``[(relative position, (token, …)), …]``: tokens grouped by position (synonym-like alternatives)."""
        if not isinstance(text, str):
            raise UnsupportedQuery(f"{what}: query {text!r} is not a string")
        if self.collect:
            self.wanted.add(text)
            return [(0, ("",))]
        groups: dict[int, list[str]] = {}
        for position, token in self.tokens[text]:
            groups.setdefault(position, []).append(token)
        return [(position, tuple(dict.fromkeys(tokens))) for position, tokens in sorted(groups.items())]

    # -- clauses

    def compile(self, clause: Mapping[str, Any]) -> _Node:
        kind, body = _one(clause, "query")
        method = getattr(self, f"_q_{kind}", None)
        if method is None:
            raise UnsupportedQuery(f"query clause {kind!r} is not evaluated by the matcher")
        return method(body)

    def _q_match_all(self, body: Mapping[str, Any]) -> _Node:
        _only(body, (), "match_all")
        return self.const(True)

    def _q_match_none(self, body: Mapping[str, Any]) -> _Node:
        _only(body, (), "match_none")
        return self.const(False)

    def _q_constant_score(self, body: Mapping[str, Any]) -> _Node:
        _only(body, ("filter",), "constant_score")
        return self.compile(body["filter"])

    def _q_bool(self, body: Mapping[str, Any]) -> _Node:
        _only(body, ("must", "filter", "should", "must_not", "minimum_should_match"), "bool")
        required = [self.compile(c) for key in ("must", "filter") for c in _as_list(body.get(key))]
        excluded = [self.compile(c) for c in _as_list(body.get("must_not"))]
        should = [self.compile(c) for c in _as_list(body.get("should"))]
        least = body.get("minimum_should_match")
        if least is None:
            least = 1 if should and not required else 0
        elif isinstance(least, str) and least.strip().lstrip("-").isdigit():
            least = int(least)
        elif not isinstance(least, int) or isinstance(least, bool):
            raise UnsupportedQuery(f"bool: minimum_should_match {least!r} is not evaluated by the matcher")
        if least < 0:  # "-1": all but one
            least = max(len(should) + least, 0)
        if not should:
            least = 0
        # Deterministic order for interning; cheapest parts first so evaluation stops early.
        def key(nodes: list[_Node]) -> tuple[_Node, ...]:
            return tuple(sorted(dict.fromkeys(nodes), key=lambda n: n.number))

        if least == 0:
            should = []
        # AND inside AND and OR inside OR are spliced in (fewer nodes to step through per document).
        for child in [n for n in required if isinstance(n, _Bool) and n.least == 0]:
            required.remove(child)
            required.extend(child.required)
            excluded.extend(child.excluded)
        if least == 1:
            for child in [n for n in should if _pure_or(n)]:
                should.remove(child)
                should.extend(child.should)
        req, exc, sho = key(required), key(excluded), key(should)
        if not exc and not sho and len(req) == 1:
            return req[0]
        if not req and not exc and least == 1 and len(sho) == 1:
            return sho[0]
        return self._intern(
            ("bool", tuple(n.number for n in req), tuple(n.number for n in exc), tuple(n.number for n in sho), least),
            lambda: _Bool(req, exc, sho, least),
        )

    def _words(self, field_name: str, text: Any, operator: str, what: str) -> _Node:
        groups = tuple(group for _, group in self._analyzed(text, what))
        if not groups:
            return self.const(False)  # zero_terms_query: none
        if operator == "and":
            return self._intern(("all", field_name, groups), lambda: _AllTokens(field_name, groups))
        parts = [self._intern(("all", field_name, (g,)), lambda g=g: _AllTokens(field_name, (g,))) for g in groups]
        return parts[0] if len(parts) == 1 else self._or(parts)

    def _or(self, parts: list[_Node]) -> _Node:
        flat = [leaf for part in parts for leaf in (part.should if _pure_or(part) else (part,))]
        should = tuple(sorted(dict.fromkeys(flat), key=lambda n: n.number))
        if len(should) == 1:
            return should[0]
        return self._intern(("bool", (), (), tuple(n.number for n in should), 1), lambda: _Bool((), (), should, 1))

    @staticmethod
    def _operator(body: Mapping[str, Any], what: str) -> str:
        operator = str(body.get("operator", "or")).lower()
        if operator not in ("and", "or"):
            raise UnsupportedQuery(f"{what}: operator {operator!r}")
        if body.get("zero_terms_query", "none") != "none":
            raise UnsupportedQuery(f"{what}: zero_terms_query {body['zero_terms_query']!r}")
        return operator

    def _q_multi_match(self, body: Mapping[str, Any]) -> _Node:
        _only(body, ("query", "type", "fields", "operator", "zero_terms_query", "tie_breaker"), "multi_match")
        kind = body.get("type", "best_fields")
        if kind not in ("best_fields", "most_fields"):
            raise UnsupportedQuery(f"multi_match: type {kind!r} is not evaluated by the matcher")
        operator = self._operator(body, "multi_match")
        fields = body.get("fields")
        if not fields:
            raise UnsupportedQuery("multi_match without explicit fields")
        parts = []
        for spec in fields:
            name = self._text_field(str(spec).partition("^")[0], "multi_match")
            parts.append(self._words(name, body.get("query"), operator, "multi_match"))
        return self._or(parts)

    def _q_match(self, body: Mapping[str, Any]) -> _Node:
        name, spec = _one(body, "match")
        spec = spec if isinstance(spec, Mapping) else {"query": spec}
        _only(spec, ("query", "operator", "zero_terms_query"), "match")
        field_name = self._text_field(name, "match")
        return self._words(field_name, spec.get("query"), self._operator(spec, "match"), "match")

    def _q_match_phrase(self, body: Mapping[str, Any]) -> _Node:
        name, spec = _one(body, "match_phrase")
        spec = spec if isinstance(spec, Mapping) else {"query": spec}
        _only(spec, ("query", "slop", "zero_terms_query"), "match_phrase")
        if spec.get("slop", 0) != 0:
            raise UnsupportedQuery("match_phrase: slop is not evaluated by the matcher")
        self._operator(spec, "match_phrase")
        field_name = self._text_field(name, "match_phrase")
        steps = tuple(self._analyzed(spec.get("query"), "match_phrase"))
        if not steps:
            return self.const(False)
        if len(steps) == 1:
            groups = (steps[0][1],)
            return self._intern(("all", field_name, groups), lambda: _AllTokens(field_name, groups))
        base = steps[0][0]
        steps = tuple((position - base, group) for position, group in steps)
        return self._intern(("phrase", field_name, steps), lambda: _Phrase(field_name, steps))

    def _q_prefix(self, body: Mapping[str, Any]) -> _Node:
        name, spec = _one(body, "prefix")
        spec = spec if isinstance(spec, Mapping) else {"value": spec}
        _only(spec, ("value", "case_insensitive", "rewrite"), "prefix")
        kind = self._type(name)
        if kind not in ("text", "keyword"):
            raise UnsupportedQuery(f"prefix: {name!r} is not a text or keyword field")
        if kind == "text":
            self._text_field(name, "prefix")
        value = spec.get("value")
        if not isinstance(value, str):
            raise UnsupportedQuery(f"prefix: value {value!r} is not a string")
        insensitive = bool(spec.get("case_insensitive", False))
        lowered = kind == "text"  # the standard analyzer lower-cases every term
        return self._intern(
            ("prefix", name, value, insensitive), lambda: _Prefix(name, value, insensitive, lowered)
        )

    def _keyword_field(self, name: str, what: str) -> str:
        if self._type(name) != "keyword" or (self.types[name].get("normalizer")):
            raise UnsupportedQuery(f"{what}: {name!r} is not a plain keyword field")
        return name

    @staticmethod
    def _keyword_value(value: Any, what: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int):
            return str(value)
        raise UnsupportedQuery(f"{what}: value {value!r}")

    def _q_term(self, body: Mapping[str, Any]) -> _Node:
        name, spec = _one(body, "term")
        spec = spec if isinstance(spec, Mapping) else {"value": spec}
        _only(spec, ("value", "case_insensitive"), "term")
        if spec.get("case_insensitive"):
            raise UnsupportedQuery("term: case_insensitive is not evaluated by the matcher")
        self._keyword_field(name, "term")
        values = (self._keyword_value(spec.get("value"), "term"),)
        return self._intern(("keyword", name, values), lambda: _Keyword(name, values))

    def _q_terms(self, body: Mapping[str, Any]) -> _Node:
        options = {k: v for k, v in body.items() if k not in _SCORING}
        name, raw = _one(options, "terms")
        if not isinstance(raw, list | tuple):
            raise UnsupportedQuery("terms: only a list of values is evaluated by the matcher (no lookup)")
        self._keyword_field(name, "terms")
        values = tuple(sorted({self._keyword_value(v, "terms") for v in raw}))
        if not values:
            return self.const(False)
        return self._intern(("keyword", name, values), lambda: _Keyword(name, values))

    def _q_range(self, body: Mapping[str, Any]) -> _Node:
        name, spec = _one(body, "range")
        if self._type(name) != "date" or (self.types[name].get("format")):
            raise UnsupportedQuery(f"range: {name!r} is not a date field in the default format")
        _only(spec, ("gte", "gt", "lte", "lt", "relation"), "range")
        if spec.get("relation", "intersects").lower() != "intersects":
            raise UnsupportedQuery("range: relation other than intersects")
        low = high = None
        for key in ("gte", "gt", "lte", "lt"):
            raw = spec.get(key)
            if raw is None:
                continue
            if isinstance(raw, str) and ("now" in raw or "||" in raw):
                raise UnsupportedQuery("range: date math is not evaluated by the matcher")
            inclusive = key in ("gte", "lte")
            millis = date_millis(raw, round_up=key in ("lte", "gt"))
            if millis is None:
                raise UnsupportedQuery(f"range: unreadable date {raw!r}")
            if key.startswith("g"):
                bound = millis if inclusive else millis + 1
                low = bound if low is None else max(low, bound)
            else:
                bound = millis if inclusive else millis - 1
                high = bound if high is None else min(high, bound)
        return self._intern(("range", name, low, high), lambda: _Range(name, low, high))


# --------------------------------------------------------------------------- the matcher


DEFAULT_KEYWORD_SHARE = 0.5
"""Assumed share of documents holding a keyword value (source, kind…) when no frequencies are given."""


class Matcher:
    """Saved queries compiled for matching. Build once per set of subscriptions (:meth:`build`); then
    :meth:`match` batches of documents. Thread-safe for concurrent :meth:`match` calls (no shared state
    is written)."""

    def __init__(
        self,
        roots: list[_Node],
        subscribers: list[list[str]],
        presearcher: Presearcher,
        fields: frozenset[str],
        date_fields: frozenset[str],
        fallback: list[MatcherSubscription],
        rejected: dict[str, str],
        subscriptions: list[MatcherSubscription],
        reader: SourceReader | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        """Every subscription given to :meth:`build` whose query parses."""
        self._roots = roots
        self._subscribers = subscribers
        self._presearcher = presearcher
        self._names = sorted({name for node in roots for name, _ in _walk_fields(node)})
        self._tests, phrased = _compile_plans(roots, self._names)
        self._phrased_numbers = [(number, name) for number, name in enumerate(self._names) if name in phrased]
        self._paired = sorted(phrased | presearcher.pairs.keys())
        """Fields whose adjacent pairs a document's match needs (phrases, pair anchors)."""
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._pool_size = 0
        self._finalizer: weakref.finalize | None = None
        if reader is None:
            reader = SourceReader(fields, date_fields, DOC_PROPERTIES)
        self.fields = fields
        """Fields whose terms :meth:`match` needs (text fields and keyword filter fields)."""
        self.date_fields = date_fields
        """Date fields whose values :meth:`match` needs (only when some subscription has a date range)."""
        self.fallback = fallback
        """Subscriptions whose compiled query uses something the matcher does not evaluate: matched by a
        real search (:func:`match_documents` does it). Empty with today's ``index.query``."""
        self.rejected = rejected
        """subscription id -> why it can never match (its query does not parse): search refuses it too."""
        self.reader = reader
        """Reads :attr:`fields` and :attr:`date_fields` from documents' ``_source`` (:class:`SourceReader`)."""

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._subscribers)

    @property
    def plans(self) -> int:
        """Distinct plans evaluated (identical subscriptions share one)."""
        return len(self._roots)

    @classmethod
    def build(
        cls,
        subscriptions: Iterable[MatcherSubscription],
        analyze: Analyze,
        *,
        doc_freq: DocFreq | None = None,
        properties: Mapping[str, Any] = DOC_PROPERTIES,
    ) -> Matcher:
        """Compile ``subscriptions`` (each exactly as ``index.search.build_query`` would search it).

        ``analyze`` is called once with every distinct query text (``index.analysis.analyze_terms`` bound to
        a client). ``doc_freq``, when given, is called once with every candidate anchor term and steers which
        part of an ``AND`` anchors it (``index.analysis.term_shares``); without it, longer terms count as
        rarer. Neither changes what matches. ``properties``: the documents mapping (``index.mappings``).
        """
        subs = list(subscriptions)
        compiler = _Compiler(properties)
        queries: list[tuple[MatcherSubscription, dict[str, Any]]] = []
        fallback: list[MatcherSubscription] = []
        rejected: dict[str, str] = {}
        for sub in subs:
            try:
                query = build_query(sub.request())
            except QuerySyntaxError as exc:
                rejected[sub.id] = str(exc)
                continue
            try:
                compiler.compile(query)  # first pass: collect texts to analyze, find unsupported clauses
            except UnsupportedQuery:
                fallback.append(sub)
                continue
            queries.append((sub, query))
        wanted = sorted(compiler.wanted)
        compiler.tokens = dict(zip(wanted, analyze(wanted) if wanted else [], strict=True))
        compiler.collect = False
        compiler.interned.clear()
        compiler.nodes.clear()

        by_root: dict[int, int] = {}
        roots: list[_Node] = []
        subscribers: list[list[str]] = []
        for sub, query in queries:
            root = compiler.compile(query)
            slot = by_root.get(root.number)
            if slot is None:
                slot = by_root[root.number] = len(roots)
                roots.append(root)
                subscribers.append([])
            subscribers[slot].append(sub.id)

        weight = _weigher(compiler.nodes, doc_freq)
        _order_parts(compiler.nodes, weight)
        anchors = [root.anchors(weight) for root in roots]
        probes = {(n.field, n.value) for n in compiler.nodes if isinstance(n, _Prefix) and n.probe}
        presearcher = Presearcher(anchors, probes)
        fields: set[str] = set()
        dates: set[str] = set()
        for node in compiler.nodes:
            for name, kind in node.fields():
                (fields if kind == "terms" else dates).add(name)
        accepted = [sub for sub in subs if sub.id not in rejected]
        reader = SourceReader(fields, dates, properties)
        return cls(roots, subscribers, presearcher, frozenset(fields), frozenset(dates), fallback, rejected, accepted,
                   reader)

    def candidates(self, doc: DocTerms) -> list[str]:
        """Subscription ids the presearcher hands to evaluation for ``doc`` (a superset of its matches)."""
        adjacent = {name: _adjacent(doc, name) for name in self._paired if name in doc.terms}
        numbers, _ = self._presearcher.candidates(doc.terms, adjacent)
        return [sub for number in sorted(numbers) for sub in self._subscribers[number]]

    def match(self, docs: Iterable[DocTerms], *, presearch: bool = True) -> dict[str, list[str]]:
        """``{doc_id: [subscription ids it matches, in build order]}`` for every document given (an empty
        list when none match). ``presearch=False`` evaluates every plan (the same answers, slowly: for checks)."""
        return {doc.id: self._subscriptions_of(self._plans_matching(doc, presearch)) for doc in docs}

    def match_sources(
        self, sources: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> tuple[dict[str, list[str]], list[str]]:
        """:meth:`match` over documents given as ``(id, _source)`` (read by :attr:`reader`): ``(matches, ids
        the reader declined)``, the declined ones to be matched from the cluster's term vectors.

        Batches of :data:`PARALLEL_MIN` documents or more are shared with worker processes, one per further
        core (forked, so each has this matcher without copying it): reading a text and evaluating plans are
        CPU work in Python, and the cluster sits idle meanwhile. Any failure of a worker's share is matched
        here instead."""
        items = list(sources)
        shares = self._shares(len(items))
        parts = [items[i::shares] for i in range(shares)]
        pending = []
        if shares > 1:
            try:
                pool = self._worker_pool(shares - 1)
                pending = [(part, pool.submit(_match_in_worker, id(self), part)) for part in parts[1:]]
            except Exception:  # noqa: BLE001 - no workers here (a daemon process, no fork, no resources)
                self.close()
                pending, parts = [], [items]
        numbers, declined = _read_and_match(self, parts[0])
        for part, future in pending:
            try:
                more, refused = future.result()
            except Exception:  # noqa: BLE001 - a broken worker: its share is matched here
                self.close()
                more, refused = _read_and_match(self, part)
            numbers.update(more)
            declined.extend(refused)
        order = {doc_id: i for i, (doc_id, _) in enumerate(items)}
        found = {doc_id: self._subscriptions_of(numbers[doc_id]) for doc_id in sorted(numbers, key=order.__getitem__)}
        return found, sorted(declined, key=order.__getitem__)

    def _plans_matching(self, doc: DocTerms, presearch: bool = True) -> list[int]:
        """Numbers of the plans ``doc`` matches, in order."""
        terms = doc.terms
        adjacent = {name: _adjacent(doc, name) for name in self._paired if name in terms}
        numbers, held = self._presearcher.candidates(terms, adjacent)
        view = _View(doc, held)
        names = self._names
        by_number = [terms.get(name) or _NOTHING for name in names]
        pairs: list[Any] = [None] * len(names)
        for number, name in self._phrased_numbers:
            found = adjacent.get(name, _NOTHING)
            pairs[number] = _Adjacent(view, name) if found is None else found
        tests = self._tests
        matched = [number for number in (numbers if presearch else range(len(tests)))
                   if tests[number](by_number, pairs, held, view)]
        matched.sort()
        return matched

    def _subscriptions_of(self, numbers: Iterable[int]) -> list[str]:
        subscribers = self._subscribers
        return [sub for number in numbers for sub in subscribers[number]]

    # -- worker processes

    def _shares(self, documents: int) -> int:
        if documents < PARALLEL_MIN or "fork" not in multiprocessing.get_all_start_methods():
            return 1
        return max(1, min(_cores(), documents // (PARALLEL_MIN // 2)))

    def _worker_pool(self, workers: int) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None or self._pool_size != workers:
                self._close()
                # What the forked workers find (they fork at the first submit). What they inherit is frozen out
                # of their garbage collection: no finalizer of the parent's objects ever runs in a worker.
                _SHARED[id(self)] = self
                self._pool = ProcessPoolExecutor(
                    workers, mp_context=multiprocessing.get_context("fork"), initializer=gc.freeze
                )
                self._pool_size = workers
                self._finalizer = weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
            return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started (they also stop when the matcher is collected)."""
        with self._pool_lock:
            self._close()

    def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            pool.shutdown(wait=True, cancel_futures=True)


PARALLEL_MIN = 24
"""Documents in one :meth:`Matcher.match_sources` call from which worker processes share the work (each
share at least half of this: below that, handing it over costs more than it saves)."""
_SHARED: weakref.WeakValueDictionary[int, Matcher] = weakref.WeakValueDictionary()
"""Matchers by ``id``, as forked worker processes find them."""


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _read_and_match(
    matcher: Matcher, items: Sequence[tuple[str, Mapping[str, Any]]]
) -> tuple[dict[str, list[int]], list[str]]:
    """``({doc_id: plan numbers}, declined ids)`` for ``(id, _source)`` items."""
    numbers: dict[str, list[int]] = {}
    declined: list[str] = []
    read = matcher.reader.read
    for doc_id, source in items:
        doc = read(doc_id, source)
        if doc is None:
            declined.append(doc_id)
        else:
            numbers[doc_id] = matcher._plans_matching(doc)
    return numbers, declined


def _match_in_worker(key: int, items: list[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, list[int]], list[str]]:
    """A worker's share: the matcher it was forked with (:data:`_SHARED`)."""
    return _read_and_match(_SHARED[key], items)


PAIR_FACTOR = 4.0
"""Adjacent pairs are estimated at this many times the chance of their words meeting (words of a name or a
collocation meet more often than chance), never above the rarer word's share."""


def _weigher(nodes: list[_Node], doc_freq: DocFreq | None) -> Callable[[Anchor], float]:
    """Estimated share of documents holding an anchor, in (0, 1] (only comparisons matter)."""
    keyword_fields = {n.field for n in nodes if isinstance(n, _Keyword)}
    stats: dict[tuple[str, str], Any] = {}
    if doc_freq is not None:
        wanted: dict[str, set[str]] = {}
        for node in nodes:
            if isinstance(node, _AllTokens):
                wanted.setdefault(node.field, set()).update(t for g in node.groups for t in g)
            elif isinstance(node, _Keyword):
                wanted.setdefault(node.field, set()).update(node.values)
        stats = dict(doc_freq(wanted)) if wanted else {}

    def word(name: str, value: str) -> float:
        found = stats.get((name, value))
        if found is not None:
            return min(1.0, max(found.share, 1e-6))
        if name in keyword_fields:
            return DEFAULT_KEYWORD_SHARE
        return 1.0 / (1 + len(value))

    def pair(name: str, left: str, right: str) -> float:
        a, b = word(name, left), word(name, right)
        first, second = stats.get((name, left)), stats.get((name, right))
        if first is None or second is None:
            return min(a, b) / 10
        expected = PAIR_FACTOR * first.length * first.per_token * second.per_token  # adjacent meetings per doc
        return min(a, b, max(1.0 - math.exp(-expected), 1e-6))

    def weight(anchor: Anchor) -> float:
        kind, name, value = anchor
        if kind == "p":  # a prefix spans many terms: assume it is common, less so when long
            return min(1.0, 3.0 / (1 + len(value)))
        if kind == "b":
            left, _, right = value.partition(" ")
            return pair(name, left, right)
        return word(name, value)

    return weight


def _order_parts(nodes: list[_Node], weight: Callable[[Anchor], float]) -> None:
    """Estimate each node's chance of matching and put the least likely required parts first, so a failing
    ``AND`` is decided by its rarest part."""
    for node in nodes:  # children are always numbered before their parents
        if isinstance(node, _Bool):
            node.required = tuple(sorted(node.required, key=lambda n: n.cost))
            node.should = tuple(sorted(node.should, key=lambda n: -n.cost))
            costs = [n.cost for n in node.required]
            if node.least > 0 and node.should:
                costs.append(min(1.0, sum(n.cost for n in node.should)))
            node.cost = min(costs, default=1.0)
        elif isinstance(node, _Const):
            node.cost = 1.0 if node.result else 0.0
        if isinstance(node, _AllTokens):
            node.arrange(weight)
        else:
            anchors = node.anchors(weight)
            node.cost = 1.0 if anchors is None else min(1.0, cost(anchors, weight))


# --------------------------------------------------------------------------- documents from their _source


SOURCE_FIELDS: tuple[str, ...] = tuple(
    sorted(
        {name.partition("^")[0] for names in QUERY_FIELDS.values() for name in names}
        | {f"{name}{FOLDED_SUFFIX}" for name in FOLDED_FIELDS}
        | {"source", "kind", "language", "topic", "sentiment", "published"}
    )
)
"""``_source`` fields that hold everything a compiled subscription can read (``index.query`` fields and their
folded siblings, ``build_query``'s filters): what a caller passing ``sources`` to :func:`match_documents`
must have read."""

_TEXT_OPTIONS = frozenset({"type", "analyzer", "search_analyzer", "fields"})
_KEYWORD_OPTIONS = frozenset({"type", "fields"})
_DECLINE = object()


def _readable(properties: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Field path -> ``"text"`` (``standard`` analyzer), ``"keyword"`` (plain) or ``"date"`` (default format)
    for the fields whose indexed terms follow from their ``_source`` value alone, here. Multi-fields (a
    ``section.keyword``) and anything with other options are left out (read by the cluster instead)."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(_readable(spec["properties"], f"{path}."))
            continue
        kind = spec.get("type")
        if kind == "text" and set(spec) <= _TEXT_OPTIONS and all(
            spec.get(key, "standard") == "standard" for key in ("analyzer", "search_analyzer")
        ):
            out[path] = "text"
        elif kind == "keyword" and set(spec) <= _KEYWORD_OPTIONS:
            out[path] = "keyword"
        elif kind == "date" and set(spec) == {"type"}:
            out[path] = "date"
    return out


class SourceReader:
    """A document's :class:`DocTerms` from its ``_source``, where that is exactly what the cluster indexes.

    Text fields (``standard`` analyzer) are tokenised by :func:`alerts.tokenize.standard_tokens`; keyword
    fields are their string values; dates are read as ``index.analysis.date_millis`` reads them. A document is
    declined (:meth:`read` returns None; the caller asks the cluster's ``_mtermvectors`` instead) when a text
    is not certain to tokenise the same here (characters outside the safe set, very long runs), or a value
    has a shape whose indexing this does not reproduce: a list of texts (position gaps), a number or boolean
    for a keyword, an object where a value belongs, a dotted key (``{"sentiment.label": …}``) anywhere on the
    way. The ``*_folded`` fields are read as stored, never folded again.
    """

    def __init__(
        self, fields: Iterable[str], date_fields: Iterable[str], properties: Mapping[str, Any] = DOC_PROPERTIES
    ) -> None:
        readable = _readable(properties)
        wanted = sorted({*fields, *date_fields})
        self.ok = all(name in readable for name in wanted)
        """Whether every field can be read from ``_source`` (else every document goes to the cluster)."""
        self.plan = [(name, name.split("."), readable.get(name, "")) for name in wanted]
        self.includes = wanted
        """``_source`` includes that :meth:`read` needs."""

    def covered_by(self, includes: Iterable[str]) -> bool:
        """Whether a ``_source`` read with ``includes`` holds everything :meth:`read` needs."""
        given = set(includes)
        return all(any(".".join(path[:i]) in given for i in range(1, len(path) + 1)) for _, path, _ in self.plan)

    def read(self, doc_id: str, source: Mapping[str, Any]) -> DocTerms | None:
        """The document as the matcher sees it, or None when the cluster must say (see the class)."""
        if not self.ok:
            return None
        if any("." in key for key in source):
            return None  # a dotted key: which field it fills is the mapping's business
        terms: dict[str, Any] = {}
        sequences: dict[str, list[str]] = {}
        values: dict[str, list[int]] = {}
        for name, path, kind in self.plan:
            value = source.get(path[0]) if len(path) == 1 else _at(source, path)
            if value is _DECLINE:
                return None
            if value is None:
                continue
            if kind == "text":
                if not isinstance(value, str):
                    return None
                tokens = standard_tokens(value)
                if tokens is None:
                    return None
                if tokens:
                    sequences[name] = tokens
                    terms[name] = set(tokens)
            elif kind == "keyword":
                items = value if isinstance(value, list) else [value]
                if not all(item is None or isinstance(item, str) for item in items):
                    return None
                found = {item: [0] for item in items if item is not None}
                if found:
                    terms[name] = found
            else:
                items = value if isinstance(value, list) else [value]
                if any(isinstance(item, dict | list) for item in items):
                    return None
                values[name] = [m for m in (date_millis(item) for item in items if item is not None) if m is not None]
        return DocTerms(doc_id, terms, values, sequences)


def _at(source: Mapping[str, Any], path: list[str]) -> Any:
    """The value at a dotted ``path`` (None if absent), or :data:`_DECLINE` for shapes :class:`SourceReader`
    leaves to the cluster: a dotted key below the top or a list on the way (the top was checked by the caller;
    the value's own shape is checked there too)."""
    node: Any = source
    for depth, step in enumerate(path):
        if not isinstance(node, dict):
            return _DECLINE if isinstance(node, list) else None
        if depth and any("." in key for key in node):
            return _DECLINE
        node = node.get(step)
        if node is None:
            return None
    return node


# --------------------------------------------------------------------------- the I/O around it


def match_documents(
    client: Elasticsearch,
    settings: Settings,
    matcher: Matcher,
    doc_ids: Sequence[str],
    *,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, list[str]]:
    """``{doc_id: [subscription ids]}`` for a batch of stored documents (ids of the documents alias).

    Reads each document's ``_source`` (one realtime ``mget``, or ``sources`` when the caller already has it:
    ``{doc_id: _source}`` read with at least :data:`SOURCE_FIELDS`) and turns it into terms with
    :class:`SourceReader`; the documents it declines get their terms from the cluster (``_mtermvectors`` of
    :attr:`Matcher.fields`, realtime). Then :meth:`Matcher.match`. Documents that do not exist (deleted
    meanwhile) are left out, as search would leave them out. Documents whose term vectors the cluster cannot
    compute, and :attr:`Matcher.fallback` subscriptions, are matched by real searches restricted to those ids
    (after a refresh, so they are visible): every answer is still the search's answer.
    """
    from index.mappings import docs_alias

    index = docs_alias(settings)
    ids = list(dict.fromkeys(doc_ids))
    reader = matcher.reader
    found: dict[str, list[str]] = {}
    declined: list[str] = ids
    if reader.ok and ids:
        given = dict(sources) if sources is not None and reader.covered_by(SOURCE_FIELDS) else {}
        missing = [doc_id for doc_id in ids if doc_id not in given]
        if missing:
            given.update(_read_sources(client, index, missing, reader.includes))
        found, declined = matcher.match_sources((doc_id, given[doc_id]) for doc_id in ids if doc_id in given)
    failed: set[str] = set()
    if declined:
        docs, errors = _fetch_documents(client, settings, index, matcher, declined)
        found.update(matcher.match(docs))
        failed.update(errors)
    matched = list(found)
    searches: list[tuple[MatcherSubscription, list[str]]] = []
    if matcher.fallback and matched:
        searches += [(sub, matched) for sub in matcher.fallback]
    if failed:
        searches += [(sub, sorted(failed)) for sub in matcher.subscriptions]
    if searches:
        client.indices.refresh(index=index)
        for doc_id, sub_id in search_matches(client, index, searches):
            found.setdefault(doc_id, []).append(sub_id)
    return found


def _read_sources(client: Elasticsearch, index: str, ids: list[str], includes: list[str]) -> dict[str, Any]:
    """``{doc_id: _source}`` of the existing documents among ``ids`` (realtime ``mget``)."""
    from index.analysis import TERMVECTOR_BATCH

    out: dict[str, Any] = {}
    for start in range(0, len(ids), TERMVECTOR_BATCH):
        chunk = ids[start : start + TERMVECTOR_BATCH]
        resp = client.mget(index=index, ids=chunk, source_includes=includes or ["__none__"], realtime=True)
        for doc in resp["docs"]:
            if doc.get("found"):
                out[doc["_id"]] = doc.get("_source") or {}
    return out


def _fetch_documents(
    client: Elasticsearch, settings: Settings, index: str, matcher: Matcher, ids: list[str]
) -> tuple[list[DocTerms], dict[str, str]]:
    """The matcher's view of ``ids`` (existing documents, in order) and the ids whose term vectors failed."""
    from index.analysis import auth_headers, document_terms, document_values

    terms, failed = document_terms(client, index, ids, matcher.fields, fast=auth_headers(settings))
    values: dict[str, dict[str, list[Any]]] = {}
    if matcher.date_fields and terms:
        values = document_values(client, index, list(terms), matcher.date_fields)
    docs = []
    for doc_id in ids:
        if doc_id in terms:
            dates = {
                name: [m for m in (date_millis(v) for v in raw) if m is not None]
                for name, raw in (values.get(doc_id) or {}).items()
            }
            docs.append(DocTerms(doc_id, terms[doc_id], dates))
    return docs, failed


def search_matches(
    client: Elasticsearch,
    index: str,
    searches: Sequence[tuple[MatcherSubscription, Sequence[str]]],
    *,
    chunk: int = 200,
) -> list[tuple[str, str]]:
    """``[(doc_id, subscription id)]`` by running each subscription's search (``build_query``) restricted to
    its document ids (``_msearch``, ``chunk`` searches per request). The definition matching is held to, and
    the baseline of ``bench/match_bench.py``."""
    pairs: list[tuple[str, str]] = []
    for start in range(0, len(searches), chunk):
        part = searches[start : start + chunk]
        body: list[dict[str, Any]] = []
        for sub, ids in part:
            query = build_query(sub.request())
            query["bool"]["filter"].append({"ids": {"values": list(ids)}})
            body.append({"index": index})
            body.append({"query": query, "size": len(ids), "_source": False, "track_total_hits": False})
        resp = client.msearch(searches=body)
        for (sub, _), answer in zip(part, resp["responses"], strict=True):
            if "error" in answer:
                raise RuntimeError(f"search for subscription {sub.id} failed: {json.dumps(answer['error'])[:300]}")
            pairs.extend((hit["_id"], sub.id) for hit in answer["hits"]["hits"])
    return pairs
