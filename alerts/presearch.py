"""The presearcher: from a document's terms to the few subscriptions worth evaluating, as Lucene's
Luwak/percolator presearcher does.

Each query plan gives a set of **anchors** (:data:`Anchor`), at least one of which every document it matches
must contain, or ``None`` when it has none (it can match a document by its filters or dates alone, or by an
exclusion). :class:`Presearcher` indexes the plans by anchor; :meth:`Presearcher.candidates` looks a
document's terms up in that index (a set intersection per field for terms, a probe per term and prefix
length for prefixes), so its cost grows with the document, not with the number of subscriptions. Plans
without anchors are candidates for every document.

Correctness rests on one rule, checked by the property test: a plan's anchors must be a superset of what
any matching document contains at least one of. How plans choose them is in :mod:`alerts.matcher`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from enrich.folding import fold

Anchor = tuple[str, str, str]
"""``("t", field, term)``: the field holds exactly this indexed term; ``("b", field, "a b")``: the field holds
term ``a`` right before term ``b`` (adjacent positions); ``("p", field, prefix)``: the field holds a term that
starts with ``prefix``."""
Anchors = frozenset[Anchor] | None
"""A plan's anchors; ``None``: unbounded (no term every match must contain); empty: the plan never matches."""
Weight = Callable[[Anchor], float]


def cost(option: frozenset[Anchor], weight: Weight) -> float:
    """Estimated share of documents an option makes candidates: the sum over its distinct folded values of
    the heaviest anchor of each (a word's exact and folded forms in title and text mostly share documents)."""
    heaviest: dict[str, float] = {}
    for anchor in option:
        key = fold(anchor[2])
        heaviest[key] = max(heaviest.get(key, 0.0), weight(anchor))
    return sum(heaviest.values())


def cheapest(options: Iterable[Anchors], weight: Weight) -> Anchors:
    """The bounded option with the lowest :func:`cost` (rarest terms: fewest candidates); None if none is."""
    best: Anchors = None
    best_cost = 0.0
    for option in options:
        if option is None:
            continue
        estimate = cost(option, weight)
        if best is None or estimate < best_cost:
            best, best_cost = option, estimate
    return best


def union(options: Iterable[Anchors]) -> Anchors:
    """Anchors of "any of these": the union; unbounded as soon as one option is."""
    out: set[Anchor] = set()
    for option in options:
        if option is None:
            return None
        out |= option
    return frozenset(out)


MEMO_TERMS = 200_000
"""Terms whose probe prefixes a presearcher remembers per field (then it starts over): news vocabularies hold
a few tens of thousands."""


class Presearcher:
    """An index from anchors to plan numbers, plus every prefix the plans evaluate (``probes``), so one
    pass over a document's terms yields both its candidates and which prefixes it holds."""

    def __init__(self, anchors: Sequence[Anchors], probes: Iterable[tuple[str, str]] = ()) -> None:
        self.always: list[int] = []
        self.terms: dict[str, dict[str, list[int]]] = {}
        self.pairs: dict[str, dict[tuple[str, str], list[int]]] = {}
        self.prefixes: dict[str, dict[str, list[int]]] = {}
        for field, prefix in probes:
            self.prefixes.setdefault(field, {}).setdefault(prefix, [])
        for number, option in enumerate(anchors):
            if option is None:
                self.always.append(number)
                continue
            for kind, field, value in option:
                if kind == "b":
                    left, _, right = value.partition(" ")
                    self.pairs.setdefault(field, {}).setdefault((left, right), []).append(number)
                    continue
                table = self.terms if kind == "t" else self.prefixes
                table.setdefault(field, {}).setdefault(value, []).append(number)
        # Anchor terms and pairs as sets: a set intersects a set through the hashes both already hold.
        self.term_keys = {field: frozenset(table) for field, table in self.terms.items()}
        self.pair_keys = {field: frozenset(table) for field, table in self.pairs.items()}
        # Prefix probes by their first `shortest` characters: one lookup per term turns most terms away.
        self.shortest = {field: min(map(len, table)) for field, table in self.prefixes.items() if table}
        self.heads: dict[str, dict[str, list[str]]] = {}
        for field, table in self.prefixes.items():
            if table:
                heads = self.heads[field] = {}
                for prefix in sorted(table, key=len):
                    heads.setdefault(prefix[: self.shortest[field]], []).append(prefix)
        self.memo: dict[str, dict[str, tuple[str, ...]]] = {field: {} for field in self.heads}
        """Per field, the probe prefixes each term seen so far starts with."""

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.terms) | frozenset(self.prefixes) | frozenset(self.pairs)

    def candidates(
        self,
        fields: Mapping[str, Collection[str]],
        adjacent: Mapping[str, Collection[tuple[str, str]] | None] | None = None,
    ) -> tuple[set[int], set[tuple[str, str]]]:
        """``(plan numbers to evaluate, (field, prefix) probes the document holds)`` for a document's
        ``{field: {term: positions}}``; ``adjacent``: fields whose adjacent term pairs are known already (their
        entry in ``fields`` may then be only their set of terms)."""
        found = set(self.always)
        held: set[tuple[str, str]] = set()
        update = found.update
        for field, terms in fields.items():
            keys = self.term_keys.get(field)
            if keys:
                hits = keys.intersection(terms)
                if hits:
                    update(*map(self.terms[field].__getitem__, hits))
            keys = self.pair_keys.get(field)
            if keys:
                known = adjacent.get(field) if adjacent else None
                hits = keys.intersection(adjacent_pairs(terms) if known is None else known)
                if hits:
                    update(*map(self.pairs[field].__getitem__, hits))
            memo = self.memo.get(field)
            if memo is not None:
                seen: set[str] = set()
                for term, starts in zip(terms, map(memo.get, terms), strict=True):
                    if starts is None:
                        starts = self._probes_of(field, term)
                    if starts:
                        seen.update(starts)
                if seen:
                    held.update((field, prefix) for prefix in seen)
                    update(*map(self.prefixes[field].__getitem__, seen))
        return found, held

    def _probes_of(self, field: str, term: str) -> tuple[str, ...]:
        """The probe prefixes of ``field`` that ``term`` starts with (remembered: vocabularies are small)."""
        starts = self.heads[field].get(term[: self.shortest[field]]) or ()
        found = tuple(prefix for prefix in starts if term.startswith(prefix))
        memo = self.memo[field]
        if len(memo) >= MEMO_TERMS:
            memo.clear()
        memo[term] = found
        return found


def adjacent_pairs(terms: Mapping[str, Sequence[int]]) -> set[tuple[str, str]]:
    """``(a, b)`` for every term ``a`` at a position right before one of term ``b``, from ``{term:
    [positions]}``; may hold more pairs than that (across a gap between values), never fewer."""
    placed = sorted([(position, term) for term, positions in terms.items() for position in positions])
    if len(placed) < 2:
        return set()
    sequence = [term for _, term in placed]
    pairs = set(zip(sequence, sequence[1:], strict=False))
    # Two terms at one position (never from the standard analyzer): pair each with every neighbour.
    if len({position for position, _ in placed}) < len(placed):
        stacked: dict[int, list[str]] = {}
        for position, term in placed:
            stacked.setdefault(position, []).append(term)
        pairs |= {(a, b) for position, left in stacked.items() for a in left for b in stacked.get(position + 1, ())}
    return pairs
