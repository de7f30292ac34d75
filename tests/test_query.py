"""The rule query parser: every construct, error positions, limits, and property tests."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peacewatch.errors import QuerySyntaxError
from peacewatch.rules.query import FIELDS, parse, query_warnings
from peacewatch.rules.querytree import And, Near, Node, Not, Or, Term, terms, to_text

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def w(text: str, field: str | None = None) -> Term:
    return Term(text, "word", field, 0)


def ph(text: str, field: str | None = None) -> Term:
    return Term(text, "phrase", field, 0)


def pre(text: str, field: str | None = None) -> Term:
    return Term(text, "prefix", field, 0)


def bare(node: Node) -> Node:
    """The tree with every column set to 0, for comparisons modulo column."""
    if isinstance(node, Term):
        return dataclasses.replace(node, column=0)
    if isinstance(node, Near):
        return Near(bare(node.left), bare(node.right), node.distance)
    if isinstance(node, Not):
        return Not(bare(node.item))
    return type(node)(tuple(bare(item) for item in node.items))


# --- valid queries -----------------------------------------------------------------------------

VALID: list[tuple[str, Node]] = [
    ("Witkoff", w("Witkoff")),
    ('"security guarantees"', ph("security guarantees")),
    ("negotiat*", pre("negotiat")),
    ("“security guarantees”", ph("security guarantees")),
    ('"mixed quotes”', ph("mixed quotes")),
    ('"tab\tand, punctuation!"', ph("tab\tand, punctuation!")),
    ("„Frieden“ «мир» »Waffenruhe«", And((ph("Frieden"), ph("мир"), ph("Waffenruhe")))),
    ("Zelensky's", w("Zelensky's")),
    ("Zelensky’s", w("Zelensky’s")),
    ("перемир'я перемирʼя", And((w("перемир'я"), w("перемирʼя")))),
    ("28-point plan", And((w("28-point"), w("plan")))),
    ("U.S. talks", And((w("U.S."), w("talks")))),
    ("10:30", w("10:30")),
    ("foo:bar", w("foo:bar")),
    ("language:uk", w("language:uk")),
    ("security_guarantees", w("security_guarantees")),
    ("Зеленський", w("Зеленський")),
    ("ＷＩＴＫＯＦＦ", w("WITKOFF")),  # NFKC
    ("ﬁnland", w("finland")),
    ("a b", And((w("a"), w("b")))),
    ("a AND b", And((w("a"), w("b")))),
    ("a OR b", Or((w("a"), w("b")))),
    ("a and b or not c", And((w("a"), w("and"), w("b"), w("or"), w("not"), w("c")))),
    ("a -b", And((w("a"), Not(w("b"))))),
    ("a NOT b", And((w("a"), Not(w("b"))))),
    ("a AND NOT b", And((w("a"), Not(w("b"))))),
    ('a -"b c"', And((w("a"), Not(ph("b c"))))),
    ("a -(b OR c)", And((w("a"), Not(Or((w("b"), w("c"))))))),
    ("a -b*", And((w("a"), Not(pre("b"))))),
    ("-5 peace", And((Not(w("5")), w("peace")))),
    ("a -(-b)", And((w("a"), Not(Not(w("b")))))),
    ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
    ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("a (b OR c)", And((w("a"), Or((w("b"), w("c")))))),
    ("a (b c) d", And((w("a"), w("b"), w("c"), w("d")))),  # flattened
    ("(a OR b) OR c", Or((w("a"), w("b"), w("c")))),
    ("((a))", w("a")),
    ("a(b)c", And((w("a"), w("b"), w("c")))),
    ('a"b"', And((w("a"), ph("b")))),
    ("a NEAR/5 b", Near(w("a"), w("b"), 5)),
    ("a NEAR b", Near(w("a"), w("b"), 10)),
    ("a NEAR/1 b", Near(w("a"), w("b"), 1)),
    ("a NEAR/100 b", Near(w("a"), w("b"), 100)),
    ('"a b" NEAR/3 c*', Near(ph("a b"), pre("c"), 3)),
    ("title:a NEAR/2 actor:lavrov", Near(w("a", "title"), w("lavrov", "actor"), 2)),
    ("-a NEAR/3 b c", And((Not(Near(w("a"), w("b"), 3)), w("c")))),
    ("a NEAR/3 b OR c", Or((Near(w("a"), w("b"), 3), w("c")))),
    ("(a OR b) NEAR c", Near(Or((w("a"), w("b"))), w("c"), 10)),
    ("a NEAR (b)", Near(w("a"), w("b"), 10)),
    ("a NEAR title:(b)", Near(w("a"), w("b", "title"), 10)),
    (
        '(Donbas OR Crimea) NEAR/10 (talks OR plan* OR "peace plan" OR actor:witkoff)',
        Near(
            Or((w("Donbas"), w("Crimea"))),
            Or((w("talks"), pre("plan"), ph("peace plan"), w("witkoff", "actor"))),
            10,
        ),
    ),
    ("((a OR (b OR c))) NEAR/2 d", Near(Or((w("a"), w("b"), w("c"))), w("d"), 2)),
    ("title:(a OR b) NEAR/3 c", Near(Or((w("a", "title"), w("b", "title"))), w("c"), 3)),
    ("x -(a OR b) NEAR/3 c", And((w("x"), Not(Near(Or((w("a"), w("b"))), w("c"), 3))))),
    ("(a OR b) NEAR/3 c d", And((Near(Or((w("a"), w("b"))), w("c"), 3), w("d")))),
    ("(a NEAR/3 b) OR c", Or((Near(w("a"), w("b"), 3), w("c")))),
    ("a near b", And((w("a"), w("near"), w("b")))),
    ("a near/5 b", And((w("a"), w("near"), w("5"), w("b")))),  # with a warning
    ("a NEAR5 b", And((w("a"), w("NEAR5"), w("b")))),  # with a warning
    ("NEAR* talks", And((pre("NEAR"), w("talks")))),
    ("title:Putin", w("Putin", "title")),
    ('title:"peace plan"', ph("peace plan", "title")),
    ("title:negotiat*", pre("negotiat", "title")),
    ("Title:Putin", w("Putin", "title")),
    ("title:(a OR b)", Or((w("a", "title"), w("b", "title")))),
    ("title:(a -b)", And((w("a", "title"), Not(w("b", "title"))))),
    ("title:(a NEAR/2 b)", Near(w("a", "title"), w("b", "title"), 2)),
    ("-title:opinion x", And((Not(w("opinion", "title")), w("x")))),
    ("source:Reuters.COM", w("reuters.com", "source")),
    ("source:bbc.co.uk", w("bbc.co.uk", "source")),
    ("lang:UK", w("uk", "lang")),
    ("lang:ukr", w("ukr", "lang")),
    ("actor:Lavrov", w("lavrov", "actor")),
    ("place:zaporizhzhia_npp", w("zaporizhzhia_npp", "place")),
    ("topic:security-guarantees", w("security-guarantees", "topic")),
    ("x -source:rt.com", And((w("x"), Not(w("rt.com", "source"))))),
    (
        'Witkoff AND (Donbas OR "security guarantees") -opinion',
        And((w("Witkoff"), Or((w("Donbas"), ph("security guarantees"))), Not(w("opinion")))),
    ),
    ("  a\tb\n", And((w("a"), w("b")))),
    ("a OR -b", Or((w("a"), Not(w("b"))))),  # parses; the matcher judges matchability
]


@pytest.mark.parametrize(("query", "tree"), VALID, ids=[q for q, _ in VALID])
def test_valid_queries_parse_to_their_tree(query: str, tree: Node) -> None:
    node = parse(query)
    assert bare(node) == tree
    assert bare(parse(to_text(node))) == tree


def test_columns_point_at_each_term_as_written() -> None:
    query = 'Witkoff AND (Donbas OR "security guarantees") -opinion title:x source:rt.com'
    cols = [(t.text, t.column) for t in terms(parse(query))]
    assert cols == [
        ("Witkoff", 1),
        ("Donbas", 14),
        ("security guarantees", 24),
        ("opinion", 48),
        ("x", 56),
        ("rt.com", 64),
    ]
    assert [t.column for t in terms(parse("title:(a OR bb)"))] == [8, 13]


def test_terms_are_listed_in_query_order() -> None:
    node = parse('a (b NEAR/2 c OR -"d e") title:(f g*) source:x.org')
    assert [t.text for t in terms(node)] == ["a", "b", "c", "d e", "f", "g", "x.org"]


def test_to_text_is_canonical() -> None:
    assert (
        to_text(parse("Witkoff AND (Donbas OR “security guarantees”) NOT opinion"))
        == 'Witkoff (Donbas OR "security guarantees") -opinion'
    )
    assert to_text(parse("a NEAR b")) == "a NEAR/10 b"
    assert to_text(parse("x -(a NEAR/2 b)")) == "x -(a NEAR/2 b)"
    assert to_text(parse("x -a NEAR/2 b")) == "x -(a NEAR/2 b)"
    assert to_text(parse("x -(a OR b) -(c d)")) == "x -(a OR b) -(c d)"
    assert to_text(parse("Title:(a OR b*) lang:UK")) == "(title:a OR title:b*) lang:uk"
    assert to_text(parse("a OR (b c)")) == "a OR b c"


# --- errors --------------------------------------------------------------------------------------

ERRORS: list[tuple[str, int, str]] = [
    ("Witkoff AND (Donbas", 20, "expected ')' after 'Donbas'"),
    ("Witkoff AND (Donbas   ", 20, "expected ')' after 'Donbas'"),
    ("AND Witkoff", 1, "expected a term before 'AND'"),
    ("OR a", 1, "expected a term before 'OR'"),
    ("(OR a)", 2, "expected a term before 'OR'"),
    ("NEAR a", 1, "expected a term before 'NEAR'"),
    ("a AND", 6, "expected a term after 'AND'"),
    ("a OR OR b", 6, "expected a term after 'OR'"),
    ("a NOT", 6, "expected a term after 'NOT'"),
    ("NOT NOT a", 5, "expected a term after 'NOT'"),
    ("a NOT -b", 7, "expected a term after 'NOT'"),
    ('x "abc', 3, "unclosed quote"),
    ("x “abc", 3, "unclosed quote"),
    ('""', 1, "empty phrase"),
    ('"  " a', 1, "empty phrase"),
    ("title:", 7, "expected a term after 'title:'"),
    ("title: Putin", 7, "expected a term after 'title:'"),
    ("title:)", 7, "expected a term after 'title:'"),
    ("title:-a", 7, "expected a term after 'title:'"),
    ("title:AND", 7, "expected a term after 'title:'"),
    ("title:(a title:b)", 10, "'title:' cannot be used inside 'title:(...)'"),
    ("title:(a lang:en)", 10, "'lang:' cannot be used inside 'title:(...)'"),
    ("source:", 8, "expected a domain after 'source:'"),
    ("source:a..b", 8, "expected a domain after 'source:'"),
    ("source:a/b", 8, "expected a domain after 'source:'"),
    ("lang:", 6, "expected a language code after 'lang:'"),
    ("lang:e", 6, "expected a language code after 'lang:'"),
    ("lang:engl", 6, "expected a language code after 'lang:'"),
    ("lang:e1", 6, "expected a language code after 'lang:'"),
    ("actor:", 7, "expected an entity id after 'actor:'"),
    ("x place:a.b", 9, "expected an entity id after 'place:'"),
    ("topic:мир", 7, "expected an entity id after 'topic:'"),
    ("a NEAR/x b", 8, "expected a number after 'NEAR/'"),
    ("a NEAR/ b", 8, "expected a number after 'NEAR/'"),
    ("a NEAR/5x b", 8, "expected a number after 'NEAR/'"),
    ("a NEAR/0 b", 8, "NEAR distance must be between 1 and 100, not 0"),
    ("a NEAR/101 b", 8, "NEAR distance must be between 1 and 100, not 101"),
    ("a NEAR/99999999999 b", 8, "NEAR distance must be between 1 and 100"),
    ("a NEAR/3 b NEAR/3 c", 12, "NEAR cannot be chained"),
    ("(a b) NEAR c", 4, "a NEAR group holds alternatives joined by OR; AND cannot be used"),
    ("(a AND b) NEAR c", 4, "(write (a NEAR/5 c) AND (b NEAR/5 c))"),
    ("a NEAR (b OR c d)", 16, "AND cannot be used inside one"),
    ("a NEAR (b OR (c AND d))", 17, "AND cannot be used inside one"),
    ("(a -b) NEAR c", 4, "'-' cannot be used on a side of NEAR; negate the whole condition"),
    ("a NEAR (NOT b)", 9, "'NOT' cannot be used on a side of NEAR"),
    ("a NEAR (b OR -c)", 14, "'-' cannot be used on a side of NEAR"),
    ("(a NEAR/2 b) NEAR c", 4, "NEAR cannot be used inside a NEAR group"),
    ("a NEAR (b NEAR c)", 11, "NEAR cannot be used inside a NEAR group"),
    ("(a OR b) NEAR/2 c NEAR/2 d", 19, "NEAR cannot be chained"),
    ("a NEAR (b OR source:x.org)", 14, "'source:' cannot be used with it"),
    ("(a OR lang:en) NEAR b", 7, "'lang:' cannot be used with it"),
    ("(a OR b NEAR c", 15, "expected ')' after 'c'"),
    ("(a OR b) NEAR", 14, "expected a term after 'NEAR'"),
    ("a NEAR -b", 8, "'-' cannot be used on a side of NEAR"),
    ("a NEAR", 7, "expected a term after 'NEAR'"),
    ("source:rt.com NEAR/2 a", 1, "'source:' cannot be used with it"),
    ("a NEAR/2 lang:en", 10, "'lang:' cannot be used with it"),
    ("", 1, "empty query"),
    ("   \t\n", 1, "empty query"),
    ("NOT x", 1, "a query needs at least one term that is not negated"),
    ("-a -b", 1, "a query needs at least one term that is not negated"),
    ("  -(a b)", 3, "a query needs at least one term that is not negated"),
    ("-a OR -b", 1, "a query needs at least one term that is not negated"),
    ("a AND )", 7, "expected a term after 'AND'"),
    ("a )", 3, "unexpected ')' without a matching '('"),
    (")", 1, "unexpected ')' without a matching '('"),
    ("()", 2, "expected a term after '('"),
    ("a ()", 4, "expected a term after '('"),
    ("x -", 4, "expected a term right after '-'"),
    ("x - y", 4, "expected a term right after '-'"),
    ("x --y", 4, "expected a term right after '-'"),
    ("*", 1, "'*' must come right after a word"),
    ("a *", 3, "'*' must come right after a word"),
    ("a*b", 2, "'*' can only come at the end of a word"),
    ("a**", 2, "'*' can only come at the end of a word"),
    ('"a b"*', 6, "'*' can end a word but not a phrase"),
    ("a, b", 2, "unexpected character ','"),
    ("Putin!", 6, "unexpected character '!'"),
    ("'peace talks'", 1, "use double quotes for a phrase"),
    ("a \x00", 3, "unexpected character U+0000"),
    ('a "b\x00"', 5, "unexpected character U+0000 in a phrase"),
    ('a "b\ud800"', 5, "unexpected character U+D800 in a phrase"),
    ("a \ud800", 3, "unexpected character U+D800"),
    ("AT&T", 3, "put text in quotes"),
    ("a near/x b", 7, "unexpected character '/'"),
    ("a near/5x b", 7, "unexpected character '/'"),
    ("⑴", 1, "is not a word once Unicode-normalised"),
    ("ＡＮＤ x", 1, "expected a term before 'ＡＮＤ'"),
]


@pytest.mark.parametrize(("query", "column", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_column_and_what_was_expected(
    query: str, column: int, message: str
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert message in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, column)


def test_error_text_has_line_and_column() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("Witkoff AND (Donbas")
    assert str(caught.value) == "1:20: expected ')' after 'Donbas'"


# --- warnings ------------------------------------------------------------------------------------

WARNINGS: list[tuple[str, list[tuple[int, str]]]] = [
    ("Putin NEAR5 Trump", [(7, "did you mean NEAR/5? 'NEAR5' is searched as a word")]),
    ("Putin near10 Trump", [(7, "did you mean NEAR/10? 'near10' is searched as a word")]),
    (
        "Putin near/5 Trump",
        [(7, "did you mean NEAR/5? lower-case 'near/5' is searched as the words 'near' and '5'")],
    ),
    ("a Near/3 b", [(3, "did you mean NEAR/3? 'Near/3' is searched as the words 'Near' and '3'")]),
    ("peace and talks", [(7, "did you mean AND? lower-case 'and' is searched as a word")]),
    ("Witkoff or Kushner", [(9, "did you mean OR? lower-case 'or' is searched as a word")]),
    ('"a" not b*', [(5, "did you mean NOT? lower-case 'not' is searched as a word")]),
    ("(a) Or (b)", [(5, "did you mean OR? 'Or' is searched as a word")]),
    ("a near b", [(3, "did you mean NEAR? lower-case 'near' is searched as a word")]),
    (
        "a and b or c",
        [
            (3, "did you mean AND? lower-case 'and' is searched as a word"),
            (9, "did you mean OR? lower-case 'or' is searched as a word"),
        ],
    ),
    ("and a", []),  # not between two terms
    ("a and", []),
    ("a AND b OR c NEAR/5 d", []),
    ('"peace and talks" OR "near/5"', []),  # quoted: meant as written
    ("Brand*", []),
    ("nearby", []),
]


@pytest.mark.parametrize(("query", "expected"), WARNINGS, ids=[w[0] for w in WARNINGS])
def test_lookalike_operators_warn_and_the_query_still_parses(
    query: str, expected: list[tuple[int, str]]
) -> None:
    parse(query)
    assert [(w.column, w.message) for w in query_warnings(query)] == expected


# --- limits --------------------------------------------------------------------------------------


def test_length_limit() -> None:
    parse("a" * 2000)
    with pytest.raises(QuerySyntaxError, match="too long") as caught:
        parse("a" * 2001)
    assert caught.value.column == 2001


def test_term_limit() -> None:
    assert len(terms(parse(" ".join(["a"] * 200)))) == 200
    with pytest.raises(QuerySyntaxError, match="too many terms") as caught:
        parse(" ".join(["a"] * 201))
    assert caught.value.column == 401  # the 201st term


def test_depth_limit() -> None:
    assert parse("(" * 32 + "a" + ")" * 32) == Term("a", "word", None, 33)
    with pytest.raises(QuerySyntaxError, match="nested too deeply") as caught:
        parse("(" * 33 + "a" + ")" * 33)
    assert caught.value.column == 33


@pytest.mark.parametrize(
    "query",
    ["(" * 1000, "(" * 999 + "a", "x " + "-(" * 900, "title:(" * 250, "a NEAR " * 250, '"' * 1999],
)
def test_hostile_nesting_is_a_syntax_error_not_a_crash(query: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(query)


# --- properties ----------------------------------------------------------------------------------


def _check_outcome(query: str) -> None:
    """parse returns a tree that survives a round trip, or raises QuerySyntaxError; nothing else."""
    try:
        node = parse(query)
    except QuerySyntaxError as exc:
        assert exc.column >= 1
        assert exc.line == 1
        str(exc).encode("utf-8")  # printable anywhere: no lone surrogates in messages
        return
    assert bare(parse(to_text(node))) == bare(node)
    for term in terms(node):
        assert 1 <= term.column <= len(query)
        assert not query[term.column - 1].isspace()


@PROPERTY
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_a_syntax_error(query: str) -> None:
    _check_outcome(query)


_OPERATORS = [
    "AND", "OR", "NOT", "NEAR", "NEAR/3", "NEAR/0", "(", ")", '"', "“", "»", "-", "*", "title:",
    "source:", "lang:", "actor:", "source:rt.com", "lang:uk", "actor:lavrov", ":", "'", "’",
    "\x00", "\ud800", "\u0301", "ＡＮＤ", "⑴", "ﬁ",
]  # fmt: skip
_WORDS = ["Witkoff", "Donbas", "мир", "peace", "28-point", "Zelensky's", "10:30", "U.S.", "a"]


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(_OPERATORS), st.sampled_from(_WORDS)),
            st.sampled_from(["", " ", " ", "  "]),
        ),
        max_size=40,
    )
)
def test_token_soup_parses_or_raises_a_syntax_error(parts: list[tuple[str, str]]) -> None:
    _check_outcome("".join(token + sep for token, sep in parts))


def _stable(text: str) -> bool:
    return unicodedata.normalize("NFKC", text) == text


# Word characters of several scripts that NFKC leaves alone, so generated words are valid as is.
_SCRIPT_RANGES = [
    (0x30, 0x7A),  # ASCII
    (0xC0, 0x17F),  # Latin-1, Latin Extended-A
    (0x391, 0x3C9),  # Greek
    (0x400, 0x45F),  # Cyrillic
    (0x5D0, 0x5EA),  # Hebrew
    (0x627, 0x64A),  # Arabic
    (0x905, 0x939),  # Devanagari
    (0x4E00, 0x4E40),  # CJK
]
_LETTERS = "".join(
    c
    for lo, hi in _SCRIPT_RANGES
    for c in map(chr, range(lo, hi + 1))
    if unicodedata.category(c)[0] in "LN" and _stable(c)
)
_part = st.text(alphabet=_LETTERS, min_size=1, max_size=6)
_joined = st.lists(
    st.tuples(st.sampled_from(["-", "'", "’", ".", ":", ""]), _part), max_size=2
).map(lambda rest: "".join(j + p for j, p in rest))


def _plain_word(text: str) -> bool:
    if not _stable(text) or text in ("AND", "OR", "NOT", "NEAR"):
        return False
    # 'title:x' would be a field, not a word
    return all(text[:i].casefold() not in FIELDS for i, c in enumerate(text) if c == ":")


_word_text = st.builds(lambda a, b: a + b, _part, _joined).filter(_plain_word)
_phrase_text = st.text(alphabet=_LETTERS + " \t\n,.;!?-'’()*:/&@#", min_size=1, max_size=20).filter(
    lambda t: t.strip() != "" and _stable(t)
)
_text_term = st.one_of(
    st.builds(w, _word_text),
    st.builds(pre, _word_text),
    st.builds(ph, _phrase_text),
    st.builds(w, _word_text, st.just("title")),
    st.builds(pre, _word_text, st.just("title")),
    st.builds(ph, _phrase_text, st.just("title")),
)
_lower = "abcdefghijklmnopqrstuvwxyz"
_entity_term = st.builds(
    w,
    st.text(alphabet=_lower + "0123456789_-", min_size=1, max_size=12),
    st.sampled_from(["actor", "place", "topic"]),
)
_near_term = st.one_of(_text_term, _entity_term)
_near_side = st.one_of(
    _near_term, st.lists(_near_term, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs)))
)
_leaf = st.one_of(
    _text_term,
    _entity_term,
    st.builds(
        w,
        st.sampled_from(["reuters.com", "bbc.co.uk", "rt.com", "kyivindependent.com"]),
        st.just("source"),
    ),
    st.builds(w, st.text(alphabet=_lower, min_size=2, max_size=3), st.just("lang")),
    st.builds(Near, _near_side, _near_side, st.integers(1, 100)),
)


def _flat(cls: type[And] | type[Or], items: list[Node]) -> Node:
    out: list[Node] = []
    for item in items:
        out.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(out))


_tree = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: _flat(And, xs)),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: _flat(Or, xs)),
    ),
    max_leaves=10,
)


def _has_positive(node: Node) -> bool:
    if isinstance(node, Not):
        return False
    if isinstance(node, And | Or):
        return any(_has_positive(i) for i in node.items)
    return True


@PROPERTY
@given(_leaf, _tree)
def test_generated_trees_round_trip_through_text(positive: Node, tree: Node) -> None:
    if not _has_positive(tree):
        tree = _flat(And, [positive, tree])
    assert bare(parse(to_text(tree))) == tree
