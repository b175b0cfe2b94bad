"""Staff search syntax: parsing, normalised round-trip, errors and the compiled Elasticsearch DSL."""

from __future__ import annotations

import random
import unicodedata

import pytest

from index.query import (
    DEFAULT_GROUP,
    EXACT_TIER,
    FIELDS,
    And,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    fold,
    parse,
    to_es,
)
from mediawatch.errors import QuerySyntaxError, UserError


def T(text: str, field: str | None = None) -> Term:
    return Term(text, field)


def P(text: str, field: str | None = None) -> Phrase:
    return Phrase(text, field)


def X(text: str, field: str | None = None) -> Term:
    """A prefix term (typed with a trailing '*')."""
    return Term(text, field, prefix=True)


def A(*items: Node) -> And:
    return And(items)


def O(*items: Node) -> Or:  # noqa: E743
    return Or(items)


# --------------------------------------------------------------------------- parsing

PARSES: list[tuple[str, Node]] = [
    # single operands
    ("lũ", T("lũ")),
    ("lu", T("lu")),
    ("  lũ  ", T("lũ")),
    ('"Bắc Ninh"', P("Bắc Ninh")),
    ('"  Bắc   Ninh "', P("Bắc Ninh")),
    ('"lũ lụt, sạt lở!"', P("lũ lụt, sạt lở!")),
    ("lũ*", X("lũ")),
    ("ng*", X("ng")),
    ("covid-19", T("covid-19")),
    ("TP.HCM", T("TP.HCM")),
    ("2024", T("2024")),
    ("quy_hoạch", T("quy_hoạch")),
    ("(lũ)", T("lũ")),
    ("((lũ))", T("lũ")),
    # implicit AND, Google-like
    ("lũ lụt", A(T("lũ"), T("lụt"))),
    ('lu lut AND "Bắc Ninh"', A(T("lu"), T("lut"), P("Bắc Ninh"))),
    ('"ngập lụt" "Từ Sơn"', A(P("ngập lụt"), P("Từ Sơn"))),
    ('lũ"Từ Sơn"', A(T("lũ"), P("Từ Sơn"))),
    ("lũ(lụt)", A(T("lũ"), T("lụt"))),
    # lowercase keywords are words
    ("lũ and lụt", A(T("lũ"), T("and"), T("lụt"))),
    ("mưa or nắng", A(T("mưa"), T("or"), T("nắng"))),
    ("not lũ", A(T("not"), T("lũ"))),
    ("And Or Not", A(T("And"), T("Or"), T("Not"))),
    ('"AND"', P("AND")),
    ("AND*", X("AND")),
    # precedence NOT > AND > OR
    ("a OR b", O(T("a"), T("b"))),
    ("a OR b OR c", O(T("a"), T("b"), T("c"))),
    ("a AND b OR c", O(A(T("a"), T("b")), T("c"))),
    ("a OR b AND c", O(T("a"), A(T("b"), T("c")))),
    ("a b OR c d", O(A(T("a"), T("b")), A(T("c"), T("d")))),
    ("a OR b c", O(T("a"), A(T("b"), T("c")))),
    ("a AND NOT b OR c", O(A(T("a"), Not(T("b"))), T("c"))),
    ("a NOT b", A(T("a"), Not(T("b")))),
    ("a NOT b c", A(T("a"), Not(T("b")), T("c"))),
    ("a NOT b OR c", O(A(T("a"), Not(T("b"))), T("c"))),
    # -term
    ("bão -lũ", A(T("bão"), Not(T("lũ")))),
    ('bão -"áp thấp"', A(T("bão"), Not(P("áp thấp")))),
    ("bão -(gió OR mưa)", A(T("bão"), Not(O(T("gió"), T("mưa"))))),
    ("bão -lũ*", A(T("bão"), Not(X("lũ")))),
    ("bão (-lũ)", A(T("bão"), Not(T("lũ")))),
    ("bão AND -lũ", A(T("bão"), Not(T("lũ")))),
    ("-lũ bão", A(Not(T("lũ")), T("bão"))),
    ("bão NOT NOT lũ", A(T("bão"), Not(Not(T("lũ"))))),
    ("NOT NOT lũ", Not(Not(T("lũ")))),
    ("NOT (a OR NOT b)", Not(O(T("a"), Not(T("b"))))),
    # nesting and flattening
    ("(a OR b) c", A(O(T("a"), T("b")), T("c"))),
    ("(a OR b) (c OR d)", A(O(T("a"), T("b")), O(T("c"), T("d")))),
    ("(a b) c", A(T("a"), T("b"), T("c"))),
    ("a (b (c d))", A(T("a"), T("b"), T("c"), T("d"))),
    ("(a OR b) OR c", O(T("a"), T("b"), T("c"))),
    ("a OR (b OR (c OR d))", O(T("a"), T("b"), T("c"), T("d"))),
    ("((a OR b) AND (c OR (d e)))", A(O(T("a"), T("b")), O(T("c"), A(T("d"), T("e"))))),
    ("NOT(a)b", A(Not(T("a")), T("b"))),
    # field scoping
    ("title:lũ", T("lũ", "title")),
    ('title:"Từ Sơn"', P("Từ Sơn", "title")),
    ("author:nguyen*", X("nguyen", "author")),
    ("section:thời-sự", T("thời-sự", "section")),
    ("text:lũ lụt", A(T("lũ", "text"), T("lụt"))),
    ("title:(ngập OR lụt)", O(T("ngập", "title"), T("lụt", "title"))),
    ("title:(ngập lụt) bão", A(T("ngập", "title"), T("lụt", "title"), T("bão"))),
    ("title:(lũ NOT bão)", A(T("lũ", "title"), Not(T("bão", "title")))),
    ("lũ -title:bão", A(T("lũ"), Not(T("bão", "title")))),
    ("lũ NOT title:(bão OR gió)", A(T("lũ"), Not(O(T("bão", "title"), T("gió", "title"))))),
]


@pytest.mark.parametrize(("query", "expected"), PARSES, ids=[q for q, _ in PARSES])
def test_parse(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(("query", "expected"), PARSES, ids=[q for q, _ in PARSES])
def test_normalised_string_round_trips(query: str, expected: Node) -> None:
    normalised = str(parse(query))
    assert parse(normalised) == expected
    assert str(parse(normalised)) == normalised  # normal form is a fixed point


NORMAL_FORMS = [
    ('lu lut "Bắc Ninh"', 'lu AND lut AND "Bắc Ninh"'),
    ("a b OR c", "a AND b OR c"),
    ("a (b OR c)", "a AND (b OR c)"),
    ("bão -lũ", "bão AND NOT lũ"),
    ("x -(a b)", "x AND NOT (a AND b)"),
    ("x NOT (a OR b)", "x AND NOT (a OR b)"),
    ("title:(ngập OR lụt)", "title:ngập OR title:lụt"),
    ('title:"Từ   Sơn"', 'title:"Từ Sơn"'),
    ("lũ*", "lũ*"),
    ("(((a)))", "a"),
]


@pytest.mark.parametrize(("query", "normal"), NORMAL_FORMS)
def test_normal_form(query: str, normal: str) -> None:
    assert str(parse(query)) == normal


def test_decomposed_input_is_normalised_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", 'lũ "Bắc Ninh" ngập*')
    assert nfd != unicodedata.normalize("NFC", nfd)
    assert parse(nfd) == A(T("lũ"), P("Bắc Ninh"), X("ngập"))


def test_unicode_whitespace_separates() -> None:
    assert parse("lũ\u00a0lụt\tbão\nmưa\u200bgió") == A(T("lũ"), T("lụt"), T("bão"), T("mưa"), T("gió"))


def test_custom_fields_for_parse() -> None:
    assert parse("source:baobacninh", fields={"source": ("source",)}) == T("baobacninh", "source")
    with pytest.raises(QuerySyntaxError, match="unknown field 'title'"):
        parse("title:lũ", fields=["source"])


# --------------------------------------------------------------------------- errors

ERRORS: list[tuple[str, int, str]] = [
    # (query, 1-based position in the message, expected fragment)
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("AND OR (", 1, "expected a word or '(' at the start of the query, found AND"),
    ("OR foo", 1, "at the start of the query, found OR"),
    ("AND foo", 1, "found AND"),
    ("foo AND", 8, "expected a word or '(' after AND, found end of query"),
    ("foo OR", 7, "after OR, found end of query"),
    ("foo AND OR bar", 9, "after AND, found OR"),
    ("foo OR OR bar", 8, "after OR, found OR"),
    ("foo AND AND bar", 9, "after AND, found AND"),
    ("foo NOT", 8, "after NOT, found end of query"),
    ("foo NOT OR bar", 9, "after NOT, found OR"),
    ("foo AND )", 9, "after AND, found ')'"),
    ("(foo", 5, "expected ')' to close '(' at position 1, found end of query"),
    ("((foo) bar", 11, "to close '(' at position 1"),
    ("foo)", 4, "unexpected ')' without a matching '('"),
    ("(a) b) c", 6, "unexpected ')'"),
    ("()", 2, "after '(', found ')'"),
    ("a ( ) b", 5, "after '(', found ')'"),
    ('"Bắc Ninh', 1, "unterminated quote"),
    ('lũ "Bắc Ninh" "Từ', 15, "unterminated quote"),
    ('""', 1, "empty phrase"),
    ('lũ "   "', 4, "empty phrase"),
    ('"?!"', 1, "empty phrase"),
    ("*", 1, "'*' must follow at least 2"),
    ("lũ *", 4, "'*' must follow at least 2"),
    ("*lũ", 1, "'*' must follow at least 2"),
    ("l*", 1, "'l*' is too short"),
    ("đ*", 1, "too short"),
    ("lu*t", 3, "'*' can only end a word"),
    ("lu**", 3, "'*' can only end a word"),
    ("covid-1*", 1, "single word only"),
    ('"lũ*"', 4, "does not work inside quotes"),
    ('"lũ lụt"*', 9, "does not work on a quoted phrase"),
    ("NOT foo", 1, "only excludes words"),
    ("-foo", 1, "only excludes words"),
    ("-foo -bar", 1, "only excludes words"),
    ("NOT (a OR b)", 1, "only excludes words"),
    ("(NOT a)", 1, "only excludes words"),
    ("a OR NOT b", 6, "only excludes words"),
    ("(NOT a) OR b", 1, "only excludes words"),
    ("a OR -b -c", 6, "only excludes words"),
    ("foo:bar", 1, "unknown field 'foo'; use one of author, section, text, title"),
    ("lũ Title:bão", 4, "unknown field 'Title'"),
    ("10:30", 1, "unknown field '10'"),
    ("title:", 7, "right after 'title:'"),
    ("title: lũ", 7, "right after 'title:'"),
    ("title:AND", 7, "after 'title:', found AND"),
    ("title:-lũ", 7, "after 'title:', found '-'"),
    ("title:(a text:b)", 10, "'text:' cannot be used inside 'title:(...)'"),
    ("title:title:a", 7, "after 'title:', found 'title:'"),
    ("lụt, ngập", 4, "unexpected character ','"),
    ("lũ.", 3, "unexpected character '.'"),
    ("+lũ", 1, "unexpected character '+'"),
    ("lũ && lụt", 4, "unexpected character '&'"),
    ("lũ || lụt", 4, "unexpected character '|'"),
    ("lũ !lụt", 4, "unexpected character '!'"),
    ("lũ \u200dlụt", 4, "unexpected character U+200D"),
    ("___", 1, "no letters or digits"),
    ("a -", 3, "'-' must be followed by the word to exclude"),
    ("a - b", 3, "'-' must be followed"),
    ("(a -)", 4, "'-' must be followed"),
    ("a--b", 2, "unexpected '-'"),
    ("a- b", 2, "unexpected '-'"),
    ('"a"-b', 4, "unexpected '-'"),
    ("--a", 2, "unexpected '-'"),
    ("(" * 51 + "a" + ")" * 51, 51, "more than 50 deep"),
    ("a " + "NOT " * 51 + "b", 203, "more than 50 deep"),
]


@pytest.mark.parametrize(("query", "position", "fragment"), ERRORS, ids=[q[:30] for q, _, _ in ERRORS])
def test_syntax_errors(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"query syntax error at position {position}: "), message
    assert fragment in message
    assert info.value.offset == position - 1  # type: ignore[attr-defined]


def test_dangling_operators_raise() -> None:
    for query in ("AND OR (", "foo AND", "OR foo", "foo OR", "NOT", "-", "(", ")"):
        with pytest.raises(QuerySyntaxError):
            parse(query)


def test_error_is_a_user_error_with_exit_code() -> None:
    with pytest.raises(UserError) as info:
        parse("AND OR (")
    assert info.value.exit_code == 2


def test_random_input_either_parses_and_round_trips_or_raises_syntax_error() -> None:
    """No input crashes, and whatever parses re-parses identically from its normal form."""
    pieces = [
        "lũ",
        "lu",
        "a",
        "b",
        "AND",
        "OR",
        "NOT",
        "-",
        "(",
        ")",
        '"',
        "*",
        ":",
        "title",
        " ",
        " ",
        "x-y",
    ]
    pieces += [","]
    rng = random.Random(20240)
    parsed = 0
    for _ in range(3000):
        query = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        try:
            node = parse(query)
        except QuerySyntaxError as error:
            assert "\n" not in str(error)
            assert 0 <= error.offset <= len(query)  # type: ignore[attr-defined]
            continue
        parsed += 1
        assert parse(str(node)) == node, query
    assert parsed > 300  # the generator exercises the success path too


# --------------------------------------------------------------------------- fold

VIETNAMESE = {
    "a": "aàáảãạăằắẳẵặâầấẩẫậ",
    "e": "eèéẻẽẹêềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọôồốổỗộơờớởỡợ",
    "u": "uùúủũụưừứửữự",
    "y": "yỳýỷỹỵ",
    "d": "dđ",
}


@pytest.mark.parametrize("base", sorted(VIETNAMESE))
def test_fold_every_vietnamese_letter(base: str) -> None:
    letters = VIETNAMESE[base]
    assert fold(letters) == base * len(letters)
    assert fold(letters.upper()) == base * len(letters)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Lũ Lụt", "lu lut"),
        ("Đà Nẵng", "da nang"),
        ("ĐẮK LẮK", "dak lak"),
        ("Thừa Thiên Huế", "thua thien hue"),
        ("COVID-19", "covid-19"),
        (unicodedata.normalize("NFD", "Nghệ An"), "nghe an"),
        ("Straße Øresund", "strasse oresund"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


# --------------------------------------------------------------------------- compiled DSL

def _word(text: str, exact: list[str], folded: list[str]) -> dict:
    """The DSL for one word: exact fields get the text as typed (a constant-score tier when it has
    diacritics), ``_folded`` siblings get it folded."""
    exact_clause = {"multi_match": {"query": text, "type": "most_fields", "fields": exact, "operator": "and"}}
    if fold(text) != text.lower():
        exact_clause = {"constant_score": {"filter": exact_clause, "boost": EXACT_TIER}}
    return {
        "bool": {
            "should": [
                exact_clause,
                {"multi_match": {"query": fold(text), "type": "most_fields", "fields": folded, "operator": "and"}},
            ],
            "minimum_should_match": 1,
        }
    }


def _word_text(clause: dict) -> str:
    first = clause["bool"]["should"][0]
    return first.get("constant_score", {}).get("filter", first)["multi_match"]["query"]


def test_word_is_multi_match_over_exact_and_folded_fields() -> None:
    assert to_es(parse("lụt")) == _word("lụt", ["title^3", "text^1"], ["title_folded^3", "text_folded^1"])
    folded_clause = to_es(parse("lụt"))["bool"]["should"][1]["multi_match"]
    assert folded_clause["query"] == "lut"


def test_implicit_and_gives_one_must_clause_per_operand() -> None:
    dsl = to_es(parse('lu lut AND "Bắc Ninh"'))
    assert list(dsl) == ["bool"] and list(dsl["bool"]) == ["must"]
    must = dsl["bool"]["must"]
    assert len(must) == 3
    assert [_word_text(clause) for clause in must[:2]] == ["lu", "lut"]
    phrase = must[2]["bool"]
    assert phrase["minimum_should_match"] == 1
    assert phrase["should"] == [
        {"constant_score": {"filter": {"match_phrase": {"title": {"query": "Bắc Ninh", "boost": 3.0}}},
                            "boost": EXACT_TIER}},
        {"match_phrase": {"title_folded": {"query": "bac ninh", "boost": 3.0}}},
        {"constant_score": {"filter": {"match_phrase": {"text": {"query": "Bắc Ninh", "boost": 1.0}}},
                            "boost": EXACT_TIER}},
        {"match_phrase": {"text_folded": {"query": "bac ninh", "boost": 1.0}}},
    ]


def test_or_is_should_with_minimum_should_match_one() -> None:
    dsl = to_es(parse("ngập OR lụt"))
    assert dsl["bool"]["minimum_should_match"] == 1
    assert [_word_text(clause) for clause in dsl["bool"]["should"]] == ["ngập", "lụt"]
    assert set(dsl["bool"]) == {"should", "minimum_should_match"}


def test_not_items_of_and_become_must_not() -> None:
    dsl = to_es(parse('lũ -bão NOT "áp thấp"'))
    assert [_word_text(c) for c in dsl["bool"]["must"]] == ["lũ"]
    must_not = dsl["bool"]["must_not"]
    assert _word_text(must_not[0]) == "bão"
    assert must_not[1]["bool"]["should"][0]["constant_score"]["filter"] == {
        "match_phrase": {"title": {"query": "áp thấp", "boost": 3.0}}
    }


def test_nested_not_compiles_to_bool_must_not() -> None:
    dsl = to_es(parse("lũ (bão OR NOT gió)"))
    branch = dsl["bool"]["must"][1]["bool"]["should"][1]
    assert branch == {"bool": {"must_not": [to_es(parse("gió"))]}}


def test_prefix_uses_folded_field_with_folded_text() -> None:
    assert to_es(parse("ngap*")) == {
        "bool": {
            "should": [
                {"prefix": {"title_folded": {"value": "ngap", "boost": 3.0}}},
                {"prefix": {"text_folded": {"value": "ngap", "boost": 1.0}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_prefix_with_diacritics_also_scores_exact_prefix() -> None:
    clauses = to_es(parse("Ngập*"))["bool"]["should"]
    assert {"prefix": {"title_folded": {"value": "ngap", "boost": 3.0}}} in clauses
    exact = {"prefix": {"title": {"value": "ngập", "case_insensitive": True}}}
    assert {"constant_score": {"filter": exact, "boost": EXACT_TIER}} in clauses
    assert len(clauses) == 4


def test_field_scoped_queries_use_only_that_field() -> None:
    assert to_es(parse("title:lũ")) == _word("lũ", ["title"], ["title_folded"])


def test_author_and_section_match_words_prefixes_and_folded_forms_like_title() -> None:
    assert to_es(parse("author:Nguyễn")) == _word("Nguyễn", ["author"], ["author_folded"])
    assert to_es(parse("author:nguyen")) == _word("nguyen", ["author"], ["author_folded"])
    assert to_es(parse("author:nguyen*")) == {"prefix": {"author_folded": {"value": "nguyen"}}}
    assert to_es(parse("author:Ngu*")) == {"prefix": {"author_folded": {"value": "ngu"}}}
    assert to_es(parse("author:Nguyễ*"))["bool"]["should"] == [
        {"prefix": {"author_folded": {"value": "nguye"}}},
        {"constant_score": {"filter": {"prefix": {"author": {"value": "nguyễ", "case_insensitive": True}}},
                            "boost": EXACT_TIER}},
    ]
    assert to_es(parse('section:"Thời sự"'))["bool"]["should"] == [
        {"constant_score": {"filter": {"match_phrase": {"section": {"query": "Thời sự"}}}, "boost": EXACT_TIER}},
        {"match_phrase": {"section_folded": {"query": "thoi su"}}},
    ]
    assert to_es(parse('section:"thoi su"'))["bool"]["should"] == [
        {"match_phrase": {"section": {"query": "thoi su"}}},
        {"match_phrase": {"section_folded": {"query": "thoi su"}}},
    ]


def test_joined_word_compiles_as_phrase() -> None:
    assert to_es(parse("covid-19")) == to_es(parse('"covid-19"'))


def test_fields_override() -> None:
    fields = {DEFAULT_GROUP: ("text^2",), "source": ("source_name",)}
    assert to_es(parse("lũ"), fields=fields) == _word("lũ", ["text^2"], ["text_folded^2"])
    node = parse("source:bacninh*", fields=fields)
    assert to_es(node, fields=fields) == {"prefix": {"source_name": {"value": "bacninh", "case_insensitive": True}}}
    with pytest.raises(QuerySyntaxError, match="unknown field 'title'"):
        to_es(parse("title:lũ"), fields=fields)


def test_default_fields_mapping_is_read_only() -> None:
    assert FIELDS[DEFAULT_GROUP] == ("title^3", "text^1")
    with pytest.raises(TypeError):
        FIELDS["title"] = ("x",)  # type: ignore[index]


def test_compiled_queries_are_plain_json() -> None:
    import json

    dsl = to_es(parse('(lũ OR ngập*) "Bắc Ninh" -title:bão'))
    assert json.loads(json.dumps(dsl)) == dsl


# --------------------------------------------------------------------------- highlighting
