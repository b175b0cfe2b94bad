"""Staff search syntax: parse a query string into a small AST and compile it to Elasticsearch DSL.

Syntax (precedence ``NOT`` > ``AND`` > ``OR``; adjacent operands are joined by ``AND``)::

    lũ lụt AND "Bắc Ninh"             three required parts
    ngập OR lụt                       either word
    bão -"áp thấp" NOT (gió OR mưa)   exclusions: NOT x, or -x after a space, '(' or at the start
    lu*  covid-19  title:lũ  title:"Từ Sơn"  title:(ngập OR lụt)

Grammar::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | primary
    primary := WORD | WORD"*" | PHRASE | "(" or ")" | FIELD":" (WORD | WORD"*" | PHRASE | "(" or ")")

Rules the parser enforces (each violation is a :class:`QuerySyntaxError` naming a 1-based position):

* ``AND``/``OR``/``NOT`` are operators only in upper case; ``and``/``or``/``not`` are ordinary words.
  To search for the word AND itself, quote it: ``"AND"``.
* A word is letters/digits (any script, with or without diacritics, precomposed or not) joined by
  single inner ``- . , ' ’ / & @`` (``covid-19``, ``TP.HCM``). Any other punctuation outside quotes
  is rejected, never dropped; inside quotes the analyzer ignores it as usual.
* ``*`` only ends a plain word of at least :data:`MIN_PREFIX_CHARS` characters; no ``*`` inside quotes.
* A query that only excludes (``NOT foo``, ``-a -b``, ``a OR NOT b``) is rejected: it would match
  almost every document. Exclusions nested under a positive part (``x (a OR NOT b)``) are fine.
* Field names are the keys of :data:`FIELDS` (default: title, text, author, section), lower case.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

from enrich.folding import fold
from mediawatch.errors import QuerySyntaxError

__all__ = [
    "DEFAULT_GROUP",
    "FIELDS",
    "And",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Term",
    "fold",
    "parse",
    "to_es",
]

DEFAULT_GROUP = "*"
"""Key in :data:`FIELDS` for words typed without a ``field:`` scope (not typeable as a field name)."""

FIELDS: Mapping[str, Sequence[str]] = MappingProxyType(
    {
        DEFAULT_GROUP: ("title^3", "text^1"),
        "title": ("title",),
        "text": ("text",),
        "author": ("author",),
        "section": ("section",),
    }
)
"""Query field name -> ES fields (``name`` or ``name^boost``, multi_match style) it searches.

Each text field ``X`` (diacritics kept) has a sibling ``X_folded`` (folded in Python) searched alongside it.
Override per call with ``parse(..., fields=)`` and ``to_es(..., fields=)``.
"""

FOLDED_SUFFIX = "_folded"
FOLDED_FIELDS = frozenset({"title", "text", "description", "thread.title", "author", "section"})
"""ES fields that have a ``<name>_folded`` sibling holding :func:`fold`-ed text (all analysed as words, so
``author:nguyen``, ``author:ngu*`` and ``section:"thoi su"`` behave like ``title:``; schema v3)."""
EXACT_TIER = 1000.0
"""Constant score added by an exact-diacritic match of a word typed with diacritics: far above any
BM25 score, so documents with more exact matches always rank above folded-only matches."""
MIN_PREFIX_CHARS = 2
MAX_DEPTH = 50
"""Deepest nesting of parentheses and NOTs accepted (keeps recursion far below Python's limit)."""

_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_CONNECTORS = frozenset("-.,'’/&@")
_EXTRA_SPACE = frozenset("\u200b\ufeff")  # zero-width space and BOM: copy-paste debris
_OPERAND_START = frozenset({"WORD", "PREFIX", "PHRASE", "(", "NOT", "FIELD"})

# --------------------------------------------------------------------------- AST


class Node:
    """A parsed query; ``str(node)`` is a normalised query that parses back to an equal node."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Term(Node):
    """One word (``prefix``: typed with a trailing ``*``), optionally scoped to ``field``."""

    text: str
    field: str | None = None
    prefix: bool = False

    def __str__(self) -> str:
        return f"{_scope(self.field)}{self.text}{'*' if self.prefix else ''}"


@dataclass(frozen=True, slots=True)
class Phrase(Node):
    """Words that must appear together in this order; ``text`` is whitespace-collapsed NFC."""

    text: str
    field: str | None = None

    def __str__(self) -> str:
        return f'{_scope(self.field)}"{self.text}"'


@dataclass(frozen=True, slots=True)
class And(Node):
    """All items must match (``Not`` items exclude). Never nested directly in another ``And``."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(f"({item})" if isinstance(item, And | Or) else str(item) for item in self.items)


@dataclass(frozen=True, slots=True)
class Or(Node):
    """At least one item must match. Never nested directly in another ``Or``."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(f"({item})" if isinstance(item, Or) else str(item) for item in self.items)


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Documents matching ``item`` are excluded."""

    item: Node

    def __str__(self) -> str:
        inner = f"({self.item})" if isinstance(self.item, And | Or) else str(self.item)
        return f"NOT {inner}"


def _scope(field: str | None) -> str:
    return f"{field}:" if field else ""


# --------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # WORD PREFIX PHRASE FIELD AND OR NOT ( ) EOF
    pos: int  # 0-based offset into the query
    text: str = ""  # normalised value (word, phrase text, field name)
    raw: str = ""  # as typed, for messages


def _fail(pos: int, detail: str) -> NoReturn:
    error = QuerySyntaxError(f"query syntax error at position {pos + 1}: {detail}")
    error.offset = pos  # type: ignore[attr-defined]  # 0-based, for UIs that underline the spot
    raise error


def _is_space(ch: str) -> bool:
    return ch.isspace() or ch in _EXTRA_SPACE


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def _has_alnum(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _show_char(ch: str) -> str:
    return f"'{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def _describe(tok: _Token) -> str:
    if tok.kind == "EOF":
        return "end of query"
    if tok.kind in _KEYWORDS and tok.raw in _KEYWORDS:
        return tok.raw
    raw = tok.raw if len(tok.raw) <= 40 else tok.raw[:39] + "…"
    return raw if tok.kind == "PHRASE" else f"'{raw}'"


class _Lexer:
    """Produces tokens on demand, so errors surface in left-to-right order."""

    def __init__(self, query: str, fields: frozenset[str]) -> None:
        self.query = query
        self.fields = fields
        self.pos = 0

    def next(self) -> _Token:
        q, n = self.query, len(self.query)
        i = self.pos
        while i < n and _is_space(q[i]):
            i += 1
        if i >= n:
            self.pos = n
            return _Token("EOF", n)
        ch = q[i]
        if ch in "()":
            self.pos = i + 1
            return _Token(ch, i, raw=ch)
        if ch == '"':
            return self._phrase(i)
        if ch == "-":
            return self._dash(i)
        if ch == "*":
            if i and q[i - 1] == '"':
                _fail(i, "'*' does not work on a quoted phrase; write a single word with '*', as in lu*")
            _fail(i, f"'*' must follow at least {MIN_PREFIX_CHARS} letters or digits, as in lu*")
        if _is_word(ch):
            return self._word(i)
        _fail(i, f"unexpected character {_show_char(ch)}; put text with punctuation in quotes")

    def _dash(self, i: int) -> _Token:
        q = self.query
        prev = q[i - 1] if i else " "
        if not (_is_space(prev) or prev in "(:"):
            _fail(i, "unexpected '-'; put a space before '-' to exclude a word, or quote the text")
        if i + 1 >= len(q) or _is_space(q[i + 1]) or q[i + 1] == ")":
            _fail(i, "'-' must be followed by the word to exclude, as in -bão")
        self.pos = i + 1
        return _Token("NOT", i, raw="-")

    def _phrase(self, i: int) -> _Token:
        q = self.query
        end = q.find('"', i + 1)
        if end < 0:
            _fail(i, "unterminated quote; add the closing '\"'")
        body = q[i + 1 : end]
        if "*" in body:
            _fail(i + 1 + body.index("*"), "'*' does not work inside quotes; write a single word with '*'")
        text = " ".join(unicodedata.normalize("NFC", body).split())
        if not _has_alnum(text):
            _fail(i, "empty phrase; put words between the quotes")
        self.pos = end + 1
        return _Token("PHRASE", i, text, q[i : end + 1])

    def _word(self, start: int) -> _Token:
        q, n = self.query, len(self.query)
        i, joined = start, False
        while True:
            while i < n and _is_word(q[i]):
                i += 1
            if i + 1 < n and q[i] in _CONNECTORS and _is_word(q[i + 1]):
                i, joined = i + 1, True
                continue
            break
        raw = q[start:i]
        text = unicodedata.normalize("NFC", raw)
        nxt = q[i] if i < n else ""
        if nxt == ":":
            return self._field(start, raw, i)
        if nxt == "*":
            after = q[i + 1] if i + 1 < n else ""
            if after == "*" or (after and _is_word(after)):
                _fail(i, "'*' can only end a word, as in lu*")
            if joined:
                _fail(start, f"'{raw}*': '*' works on a single word only, without '-', '.' and the like")
            if len(text) < MIN_PREFIX_CHARS or not _has_alnum(text):
                _fail(start, f"'{raw}*' is too short; type at least {MIN_PREFIX_CHARS} characters before '*'")
            self.pos = i + 1
            return _Token("PREFIX", start, text, raw + "*")
        self.pos = i
        if raw in _KEYWORDS:
            return _Token(raw, start, raw=raw)
        if not _has_alnum(text):
            _fail(start, f"'{raw}' has no letters or digits")
        return _Token("WORD", start, text, raw)

    def _field(self, start: int, name: str, colon: int) -> _Token:
        if name not in self.fields:
            known = ", ".join(sorted(self.fields))
            _fail(start, f"unknown field '{name}'; use one of {known}, or put text containing ':' in quotes")
        after = self.query[colon + 1 : colon + 2]
        if not after or _is_space(after):
            _fail(colon + 1, f"expected a word, \"phrase\" or '(' right after '{name}:'")
        self.pos = colon + 1
        return _Token("FIELD", start, name, name + ":")


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over :class:`_Lexer` tokens with one token of lookahead."""

    def __init__(self, query: str, fields: frozenset[str]) -> None:
        self.lexer = _Lexer(query, fields)
        self.tok = self.lexer.next()
        self.depth = 0
        self.starts: dict[int, int] = {}  # id(node) -> 0-based start, for error positions

    def _advance(self) -> _Token:
        tok, self.tok = self.tok, self.lexer.next()
        return tok

    def _mark(self, node: Node, pos: int) -> Node:
        self.starts[id(node)] = pos
        return node

    def _nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(pos, f"the query nests parentheses or NOTs more than {MAX_DEPTH} deep")

    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            _fail(0, 'empty query; type a word or a "quoted phrase"')
        node = self._or(None, "at the start of the query")
        if self.tok.kind == ")":
            _fail(self.tok.pos, "unexpected ')' without a matching '('")
        if self.tok.kind != "EOF":  # pragma: no cover - the grammar consumes every other token
            _fail(self.tok.pos, f"unexpected {_describe(self.tok)}")
        unbounded = _unbounded(node)
        if unbounded is not None:
            _fail(
                self.starts.get(id(unbounded), 0),
                "this part only excludes words, so it would match almost every document; "
                "add a word to search for, as in: lũ NOT bão",
            )
        return node

    def _or(self, field: str | None, context: str) -> Node:
        start = self.tok.pos
        items = [self._and(field, context)]
        while self.tok.kind == "OR":
            self._advance()
            items.append(self._and(field, "after OR"))
        return self._mark(_combine(Or, items), start)

    def _and(self, field: str | None, context: str) -> Node:
        start = self.tok.pos
        items = [self._unary(field, context)]
        while True:
            if self.tok.kind == "AND":
                self._advance()
                items.append(self._unary(field, "after AND"))
            elif self.tok.kind in _OPERAND_START:
                items.append(self._unary(field, context))
            else:
                break
        return self._mark(_combine(And, items), start)

    def _unary(self, field: str | None, context: str) -> Node:
        nots: list[_Token] = []
        while self.tok.kind == "NOT":
            nots.append(self._advance())
            self._nest(nots[-1].pos)
            context = "after NOT" if nots[-1].raw == "NOT" else "after '-'"
        node = self._primary(field, context)
        for tok in reversed(nots):
            node = self._mark(Not(node), tok.pos)
            self.depth -= 1
        return node

    def _primary(self, field: str | None, context: str) -> Node:
        tok = self.tok
        if tok.kind in ("WORD", "PREFIX"):
            self._advance()
            return self._mark(Term(tok.text, field, tok.kind == "PREFIX"), tok.pos)
        if tok.kind == "PHRASE":
            self._advance()
            return self._mark(Phrase(tok.text, field), tok.pos)
        if tok.kind == "(":
            self._advance()
            self._nest(tok.pos)
            node = self._or(field, "after '('")
            if self.tok.kind != ")":
                _fail(
                    self.tok.pos,
                    f"expected ')' to close '(' at position {tok.pos + 1}, found {_describe(self.tok)}",
                )
            self._advance()
            self.depth -= 1
            return self._mark(node, tok.pos)
        if tok.kind == "FIELD":
            if field is not None:
                _fail(tok.pos, f"'{tok.raw}' cannot be used inside '{field}:(...)'")
            self._advance()
            if self.tok.kind not in ("WORD", "PREFIX", "PHRASE", "("):
                _fail(
                    self.tok.pos,
                    f"expected a word, \"phrase\" or '(' after '{tok.raw}', found {_describe(self.tok)}",
                )
            return self._mark(self._primary(tok.text, context), tok.pos)
        _fail(tok.pos, f"expected a word or '(' {context}, found {_describe(tok)}")


def _combine(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """One item stays as is; nested nodes of the same kind are flattened into this one."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))


def _unbounded(node: Node) -> Node | None:
    """The part that makes ``node`` match nearly everything (a bare exclusion), or None."""
    if isinstance(node, Not):  # NOT of something near-everything (NOT NOT a) is bounded again
        return node if _unbounded(node.item) is None else None
    if isinstance(node, And):
        return node if all(_unbounded(item) is not None for item in node.items) else None
    if isinstance(node, Or):
        for item in node.items:
            culprit = _unbounded(item)
            if culprit is not None:
                return culprit
    return None


def _field_names(fields: Iterable[str] | None) -> frozenset[str]:
    return frozenset(FIELDS if fields is None else fields) - {DEFAULT_GROUP}


def parse(query: str, *, fields: Iterable[str] | None = None) -> Node:
    """Parse staff search syntax into an AST; raises :class:`QuerySyntaxError` (one line, with position).

    ``fields`` (e.g. the mapping later given to :func:`to_es`) names the allowed ``field:`` scopes;
    default: the keys of :data:`FIELDS`.
    """
    return _Parser(query, _field_names(fields)).parse()


# --------------------------------------------------------------------------- compiler


def _specs(group: Sequence[str]) -> list[tuple[str, float | None]]:
    specs: list[tuple[str, float | None]] = []
    for spec in group:
        name, _, boost = spec.partition("^")
        specs.append((name, float(boost) if boost else None))
    return specs


def _with_boost(body: dict[str, Any], boost: float | None) -> dict[str, Any]:
    return {**body, "boost": boost} if boost is not None else body


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _exact_tier(clause: dict[str, Any], typed: str) -> dict[str, Any]:
    """Typed with diacritics: an exact match counts as a tier (:data:`EXACT_TIER`), not a nudge.
    Typed without: plain scoring, so "lu lut" ranks "lũ lụt" articles by relevance alone."""
    if fold(typed) == typed.lower():
        return clause
    return {"constant_score": {"filter": clause, "boost": EXACT_TIER}}


class _Compiler:
    def __init__(self, fields: Mapping[str, Sequence[str]]) -> None:
        self.fields = fields

    def _group(self, field: str | None) -> list[tuple[str, float | None]]:
        key = DEFAULT_GROUP if field is None else field
        if key not in self.fields:
            known = ", ".join(sorted(_field_names(self.fields)))
            raise QuerySyntaxError(f"query syntax error: unknown field '{key}'; use one of {known}")
        return _specs(self.fields[key])

    def compile(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, Phrase):
            return self._phrase(node.text, node.field)
        if isinstance(node, And):
            must = [self.compile(item) for item in node.items if not isinstance(item, Not)]
            must_not = [self.compile(item.item) for item in node.items if isinstance(item, Not)]
            clauses: dict[str, Any] = {}
            if must:
                clauses["must"] = must
            if must_not:
                clauses["must_not"] = must_not
            return {"bool": clauses}
        if isinstance(node, Or):
            return {
                "bool": {"should": [self.compile(item) for item in node.items], "minimum_should_match": 1}
            }
        if isinstance(node, Not):
            return {"bool": {"must_not": [self.compile(node.item)]}}
        raise TypeError(f"not a query node: {node!r}")

    def _term(self, term: Term) -> dict[str, Any]:
        if term.prefix:
            return self._prefix(term)
        if any(ch in _CONNECTORS for ch in term.text):
            # covid-19, TP.HCM: several tokens for the analyzer, kept together and in order.
            return self._phrase(term.text, term.field)
        exact: list[str] = []
        folded: list[str] = []
        for name, boost in self._group(term.field):
            suffix = "" if boost is None else f"^{boost:g}"
            exact.append(f"{name}{suffix}")
            if name in FOLDED_FIELDS:
                folded.append(f"{name}{FOLDED_SUFFIX}{suffix}")
        exact_match = {"multi_match": {"query": term.text, "type": "most_fields", "fields": exact, "operator": "and"}}
        clauses = [_exact_tier(exact_match, term.text) if folded else exact_match]
        if folded:
            clauses.append(
                {"multi_match": {"query": fold(term.text), "type": "most_fields", "fields": folded, "operator": "and"}}
            )
        return _any_of(clauses)

    def _phrase(self, text: str, field: str | None) -> dict[str, Any]:
        clauses = []
        for name, boost in self._group(field):
            exact_match = {"match_phrase": {name: _with_boost({"query": text}, boost)}}
            clauses.append(_exact_tier(exact_match, text) if name in FOLDED_FIELDS else exact_match)
            if name in FOLDED_FIELDS:
                clauses.append({"match_phrase": {name + FOLDED_SUFFIX: _with_boost({"query": fold(text)}, boost)}})
        return {"bool": {"should": clauses, "minimum_should_match": 1}}

    def _prefix(self, term: Term) -> dict[str, Any]:
        folded, lowered = fold(term.text), term.text.lower()
        clauses: list[dict[str, Any]] = []
        for name, boost in self._group(term.field):
            if name not in FOLDED_FIELDS:
                clauses.append({"prefix": {name: _with_boost({"value": term.text, "case_insensitive": True}, boost)}})
                continue
            clauses.append({"prefix": {name + FOLDED_SUFFIX: _with_boost({"value": folded}, boost)}})
            if lowered != folded:  # typed with diacritics: exact-diacritic prefixes score higher
                exact = {"value": lowered, "case_insensitive": True}
                clauses.append(_exact_tier({"prefix": {name: exact}}, term.text))
        return _any_of(clauses)


def to_es(node: Node, *, fields: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Compile a parsed query to ES query DSL over exact + ``_folded`` sibling fields (see :data:`FIELDS`).

    Words -> exact and folded ``multi_match`` (a folded match finds "lũ" from "lu"; the exact field adds
    score only for exact diacritics); phrases and joined words (covid-19) -> ``match_phrase`` on both;
    ``lu*`` -> ``prefix`` on the folded field with folded text; AND -> must/must_not; OR -> should with
    minimum_should_match 1; a bare NOT -> bool must_not.
    """
    return _Compiler(FIELDS if fields is None else fields).compile(node)
