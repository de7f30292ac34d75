"""Parse the rule query language into a tree of Term, And, Or, Not and Near nodes.

Grammar, loosest to tightest::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms mean AND
    unary   := ("NOT" | "-") near | near
    near    := side "NEAR" ["/" n] side | term | group
    side    := term | "(" alts ")" | "title:(" alts ")"     a NEAR side
    alts    := side ("OR" side)*
    group   := "(" or ")" | "title:(" or ")"
    term    := word | word"*" | "phrase" | field":"value

Choices the language makes:

- ``NEAR`` joins two sides; each is a text term (word, phrase, prefix, entity, ``title:``) or a
  parenthesised group of such terms joined by OR: ``(Donbas OR Crimea) NEAR/10 (talks OR
  plan*)``. As in the boolean syntax of news-alert services, AND (or adjacency), NOT and NEAR
  are refused inside a NEAR group, with a message saying how to write it instead
  (``(a NEAR/5 c) AND (b NEAR/5 c)``). ``a NEAR/3 b NEAR/3 c`` is rejected (combine NEAR
  conditions with AND). ``NEAR`` alone means ``NEAR/10``; n must be 1..100. ``source:`` and
  ``lang:`` terms cannot be NEAR operands.
- ``a NEAR/n b`` holds when a hit of ``a`` and a hit of ``b`` are at most n words apart, in
  either order, within one field (title or body, never one in each): the word number of the
  later hit's first word minus that of the earlier hit's last word is at most n, so adjacent
  words are 1 apart and ``NEAR/5`` allows at most 4 words between. ``peacewatch.rules.compiled``
  implements it (``Near``).
- ``NOT``/``-`` applies to what follows it up to NEAR: ``-a NEAR/3 b`` is ``NOT (a NEAR/3 b)``.
  ``NOT NOT a`` and ``--a`` are errors; ``-(-a)`` is allowed.
- ``title:(a OR b)`` restricts every term inside to the headline; no field may appear inside it.
- A word is letters, digits and marks of any script plus ``_``, with apostrophes, hyphens, ``.``
  and ``:`` allowed between two of those (``Zelensky's``, ``28-point``, ``10:30``), and a final
  ``.`` after a word that already holds one (``U.S.``). Other punctuation is an error.
  ``word:`` starts a field only when ``word`` is a known field name (in any case); otherwise
  the colon belongs to the word.
- Terms are NFKC-normalised; operators are recognised after normalisation, case-sensitively.
  Look-alikes that are probably mistakes (``NEAR5``, ``near/5``, lower-case ``and``/``or``/
  ``not``/``near`` between terms) are searched as words, and ``query_warnings`` reports them.
- Every quote character (straight or curly, guillemets) opens or closes a phrase.
- The query must hold at least one term that is not under a NOT. Whether every OR alternative
  can be matched from the text (``a OR -b`` cannot) is for the matcher to judge.
- Limits: 2000 characters, 200 terms, 32 levels of parentheses; each is a QuerySyntaxError.

Columns are 1-based character positions in the whole query (a newline is whitespace and does
not start a new line). A Term's column is that of its first character as written: the field
name of a fielded term, the opening quote of a phrase. An error points at the offending token;
when the input ended too early, at the position just after the last token.
"""

from __future__ import annotations

from collections.abc import Callable

from peacewatch.errors import QuerySyntaxError
from peacewatch.rules.lexer import (
    DEFAULT_NEAR,
    FIELDS,
    MAX_DEPTH,
    MAX_NEAR,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    T_AND,
    T_EOF,
    T_FIELD,
    T_LPAREN,
    T_NEAR,
    T_NEG,
    T_NOT,
    T_OR,
    T_PHRASE,
    T_PREFIX,
    T_RPAREN,
    T_VALUE,
    T_WORD,
    TERM_START,
    UNARY_START,
    Lexer,
    QueryWarning,
    Token,
    query_warnings,
    show,
)
from peacewatch.rules.querytree import And, Near, Node, Not, Or, Term, TermKind, terms, to_text

__all__ = [
    "DEFAULT_NEAR",
    "FIELDS",
    "MAX_DEPTH",
    "MAX_NEAR",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "QueryWarning",
    "Term",
    "TermKind",
    "parse",
    "query_warnings",
    "terms",
    "to_text",
]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.in_title = False
        self.term_count = 0

    def peek(self, ahead: int = 0) -> Token:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else self.tokens[-1]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expected_term(self) -> QuerySyntaxError:
        token = self.peek()
        previous = self.tokens[self.pos - 1] if self.pos > 0 else None
        if token.kind == T_RPAREN and previous is None:
            return _unmatched(token)
        if token.kind in (T_AND, T_OR, T_NEAR) and (previous is None or previous.kind == T_LPAREN):
            return QuerySyntaxError(f"expected a term before {show(token.source)}", token.column)
        if previous is None:
            return QuerySyntaxError("expected a term", token.column)
        return QuerySyntaxError(f"expected a term after {show(previous.source)}", token.column)

    def query(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token.kind != T_EOF:  # the only token that can stop the top level early
            raise _unmatched(token)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek().kind == T_OR:
            self.advance()
            items.append(self.and_())
        return _combine(Or, items)

    def and_(self) -> Node:
        items = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == T_AND:
                self.advance()
            elif kind not in UNARY_START:
                break
            items.append(self.unary())
        return _combine(And, items)

    def unary(self) -> Node:
        if self.peek().kind in (T_NEG, T_NOT):
            self.advance()
            return Not(self.near())
        return self.near()

    def at_single_term(self) -> bool:
        token = self.peek()
        if token.kind == T_FIELD:
            return self.peek(1).kind != T_LPAREN
        return token.kind in TERM_START

    def at_group(self) -> bool:
        token = self.peek()
        return token.kind == T_LPAREN or (token.kind == T_FIELD and self.peek(1).kind == T_LPAREN)

    def near(self) -> Node:
        start, count = self.pos, self.term_count
        if self.at_group():
            node = self.group()
        elif self.at_single_term():
            node = self.term()
        else:
            raise self.expected_term()
        if self.peek().kind != T_NEAR:
            return node
        # An operand of NEAR: read it again under the stricter rules of a NEAR side.
        self.pos, self.term_count = start, count
        left = self.near_side()
        operator = self.advance()
        right = self.near_side()
        if self.peek().kind == T_NEAR:
            raise QuerySyntaxError(
                "NEAR cannot be chained; combine NEAR conditions with AND", self.peek().column
            )
        return Near(left, right, operator.distance)

    def near_side(self) -> Node:
        """One side of NEAR: a text term, or a group of such terms joined by OR."""
        token = self.peek()
        if token.kind in (T_NEG, T_NOT):
            raise QuerySyntaxError(
                f"{show(token.source)} cannot be used on a side of NEAR; negate the whole"
                " condition instead, as in -(a NEAR/5 b)",
                token.column,
            )
        if self.at_group():
            return self.group(self.near_alternatives)
        if not self.at_single_term():
            raise self.expected_term()
        term = self.term()
        if term.field in ("source", "lang"):
            raise QuerySyntaxError(
                f"NEAR needs words of the text; '{term.field}:' cannot be used with it",
                term.column,
            )
        return term

    def near_alternatives(self) -> Node:
        items = [self.near_side()]
        while True:
            token = self.peek()
            if token.kind == T_OR:
                self.advance()
                items.append(self.near_side())
            elif token.kind == T_NEAR:
                raise QuerySyntaxError(
                    "NEAR cannot be used inside a NEAR group; combine NEAR conditions with AND",
                    token.column,
                )
            elif token.kind in (T_NEG, T_NOT):
                self.near_side()  # raises: NOT has no place inside a NEAR group
            elif token.kind == T_AND or token.kind in UNARY_START:
                raise QuerySyntaxError(
                    "a NEAR group holds alternatives joined by OR; AND cannot be used inside"
                    " one (write (a NEAR/5 c) AND (b NEAR/5 c))",
                    token.column,
                )
            else:
                return _combine(Or, items)

    def group(self, inner: Callable[[], Node] | None = None) -> Node:
        title = self.peek().kind == T_FIELD
        if title:
            self.check_field_allowed(self.advance())
        opening = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"parentheses are nested too deeply (at most {MAX_DEPTH} levels)", opening.column
            )
        self.in_title = self.in_title or title
        node = (inner or self.or_)()
        closing = self.peek()
        if closing.kind != T_RPAREN:
            previous = self.tokens[self.pos - 1]
            raise QuerySyntaxError(f"expected ')' after {show(previous.source)}", closing.column)
        self.advance()
        self.depth -= 1
        if title:
            self.in_title = False
        return node

    def check_field_allowed(self, token: Token) -> None:
        if self.in_title:
            raise QuerySyntaxError(
                f"'{token.field}:' cannot be used inside 'title:(...)'", token.column
            )

    def term(self) -> Term:
        token = self.advance()
        if token.kind == T_FIELD:
            self.check_field_allowed(token)
            inner = self.peek()
            if inner.kind not in (T_WORD, T_PREFIX, T_PHRASE):
                raise self.expected_term()
            self.advance()
            return self.make(inner.value, inner.kind, "title", token.column)
        if token.kind == T_VALUE:
            self.check_field_allowed(token)
            return self.make(token.value, T_WORD, token.field, token.column)
        field = "title" if self.in_title else None
        return self.make(token.value, token.kind, field, token.column)

    def make(self, text: str, kind: str, field: str | None, column: int) -> Term:
        self.term_count += 1
        if self.term_count > MAX_TERMS:
            raise QuerySyntaxError(f"too many terms (at most {MAX_TERMS})", column)
        term_kind: TermKind = (
            "phrase" if kind == T_PHRASE else "prefix" if kind == T_PREFIX else "word"
        )
        return Term(text, term_kind, field, column)


def _unmatched(token: Token) -> QuerySyntaxError:
    return QuerySyntaxError("unexpected ')' without a matching '('", token.column)


def _combine(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        if isinstance(item, cls):
            flat.extend(item.items)
        else:
            flat.append(item)
    return cls(tuple(flat))


def _has_positive(node: Node) -> bool:
    if isinstance(node, Not):
        return False
    if isinstance(node, And | Or):
        return any(_has_positive(item) for item in node.items)
    return True


def parse(query: str) -> Node:
    """Parse a query. Raises QuerySyntaxError (with a column and what was expected) on any
    input that is not a valid query, including queries over the length, term or nesting limits.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"query is too long ({len(query)} characters, at most {MAX_QUERY_LENGTH})",
            MAX_QUERY_LENGTH + 1,
        )
    if not query.strip():
        raise QuerySyntaxError("empty query", 1)
    tokens = Lexer(query).tokens()
    node = _Parser(tokens).query()
    if not _has_positive(node):
        raise QuerySyntaxError(
            "a query needs at least one term that is not negated", tokens[0].column
        )
    return node
