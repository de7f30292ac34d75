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
  ``lang:`` terms cannot be NEAR operands. What counts as near (words apart, one field) is
  defined in ``peacewatch.rules.compiled``.
- ``NOT``/``-`` applies to what follows it up to NEAR: ``-a NEAR/3 b`` is ``NOT (a NEAR/3 b)``.
  ``NOT NOT a`` and ``--a`` are errors; ``-(-a)`` is allowed.
- ``title:(a OR b)`` restricts every term inside to the headline; no field may appear inside it.
- A word is letters, digits and marks of any script plus ``_``, with apostrophes, hyphens, ``.``
  and ``:`` allowed between two of those (``Zelensky's``, ``28-point``, ``10:30``), and a final
  ``.`` after a word that already holds one (``U.S.``). Other punctuation is an error.
  ``word:`` starts a field only when ``word`` is a known field name (in any case); otherwise
  the colon belongs to the word.
- Terms are NFKC-normalised; operators are recognised after normalisation, case-sensitively.
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

import functools
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeAlias

from peacewatch.errors import QuerySyntaxError

MAX_QUERY_LENGTH = 2000
MAX_TERMS = 200
MAX_DEPTH = 32
MAX_NEAR = 100
DEFAULT_NEAR = 10

TermKind = Literal["word", "phrase", "prefix"]
FIELDS = ("title", "source", "lang", "actor", "place", "topic")


@dataclass(frozen=True, slots=True)
class Term:
    """One term: its text as written (NFKC, no quotes or '*'), its kind and its field."""

    text: str
    kind: TermKind
    field: str | None
    column: int


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Near:
    """Hits of ``left`` and ``right`` at most ``distance`` words apart in one field.

    Each side is a Term or an Or of Terms (a NEAR group); see ``peacewatch.rules.compiled`` for
    how the distance is counted."""

    left: Node
    right: Node
    distance: int


Node: TypeAlias = Term | And | Or | Not | Near


@dataclass(frozen=True, slots=True)
class QueryWarning:
    """A look-alike of an operator that is probably a mistake; the query is valid as written."""

    message: str
    column: int

    def __str__(self) -> str:
        return f"1:{self.column}: {self.message}"


_QUOTES = frozenset('"“”„‟«»')
_JOINERS = frozenset("'’-‐‑.:\u200c\u200d")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "NEAR"})

# Token kinds.
_WORD, _PREFIX, _PHRASE = "word", "prefix", "phrase"
_FIELD, _VALUE = "field", "value"  # 'title:' / a complete source:, lang: or entity term
_LPAREN, _RPAREN, _NEG, _EOF = "(", ")", "-", "end"
_AND, _OR, _NOT, _NEAR = "AND", "OR", "NOT", "NEAR"
_TERM_START = frozenset({_WORD, _PREFIX, _PHRASE, _FIELD, _VALUE})
_UNARY_START = _TERM_START | {_LPAREN, _NEG, _NOT}


class _Token(NamedTuple):
    kind: str
    source: str  # the token as written, for messages
    column: int
    value: str = ""
    field: str | None = None
    distance: int = DEFAULT_NEAR


_ASCII_WORD = frozenset(string.ascii_letters + string.digits + "_")


def _is_word_char(c: str) -> bool:
    if c < "\x80":
        return c in _ASCII_WORD
    return unicodedata.category(c)[0] in "LNM"


def _is_delimiter(c: str) -> bool:
    return c.isspace() or c in "()" or c in _QUOTES


def _show(text: str) -> str:
    """A token for an error message: quoted, shortened, with unprintable characters spelled out."""
    if len(text) == 1 and not text.isprintable():
        return f"U+{ord(text):04X}"
    if len(text) > 30:
        text = text[:29] + "…"
    return "'" + "".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in text) + "'"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class _Lexer:
    def __init__(self, query: str) -> None:
        self.q = query
        self.n = len(query)
        self.out: list[_Token] = []
        self.warnings: list[QueryWarning] = []

    def tokens(self) -> list[_Token]:
        q, i = self.q, 0
        end = 1  # column just after the last token
        while i < self.n:
            c = q[i]
            if c.isspace():
                i += 1
                continue
            start = i
            if c in "()":
                self.out.append(_Token(c, c, i + 1))
                i += 1
            elif c in _QUOTES:
                i = self._phrase(i)
            elif c == "-":
                if i + 1 < self.n and (
                    _is_word_char(q[i + 1]) or q[i + 1] == "(" or q[i + 1] in _QUOTES
                ):
                    self.out.append(_Token(_NEG, "-", i + 1))
                    i += 1
                else:
                    raise QuerySyntaxError("expected a term right after '-'", i + 2)
            elif _is_word_char(c):
                i = self._word(i)
            elif c == "*":
                raise QuerySyntaxError("'*' must come right after a word", i + 1)
            elif c == "'":
                raise QuerySyntaxError(
                    'unexpected character "\'" (use double quotes for a phrase)', i + 1
                )
            else:
                raise QuerySyntaxError(
                    f"unexpected character {_show(c)} (put text in quotes to search for it as"
                    " written)",
                    i + 1,
                )
            if i > start:
                end = i + 1
        self.out.append(_Token(_EOF, "", end))
        return self.out

    def _phrase(self, i: int) -> int:
        j = i + 1
        while j < self.n and self.q[j] not in _QUOTES:
            j += 1
        if j >= self.n:
            raise QuerySyntaxError("unclosed quote", i + 1)
        raw = self.q[i + 1 : j]
        for k, c in enumerate(raw, start=i + 1):
            # surrogates and control characters would break matching and printing later on
            if unicodedata.category(c) in ("Cc", "Cs") and not c.isspace():
                raise QuerySyntaxError(f"unexpected character {_show(c)} in a phrase", k + 1)
        text = _nfkc(raw)
        if not text.strip():
            raise QuerySyntaxError("empty phrase", i + 1)
        if text != raw and any(c in _QUOTES for c in text):
            raise QuerySyntaxError(
                f"phrase {_show(raw)} holds a quote once Unicode-normalised", i + 1
            )
        if j + 1 < self.n and self.q[j + 1] == "*":
            raise QuerySyntaxError("'*' can end a word but not a phrase", j + 2)
        self.out.append(_Token(_PHRASE, self.q[i : j + 1], i + 1, text))
        return j + 1

    def _word(self, i: int) -> int:
        q, n, j = self.q, self.n, i
        while j < n:
            c = q[j]
            if _is_word_char(c):
                j += 1
                continue
            # NFKC never shortens text into ASCII, so a field name is at most 6 raw characters.
            if c == ":" and j - i <= 6:
                name = _nfkc(q[i:j]).casefold()
                if name in FIELDS:
                    return self._field(name, i, j + 1)
            if c in _JOINERS and j + 1 < n and _is_word_char(q[j + 1]):
                j += 2
                continue
            break
        if j < n and q[j] == "." and "." in q[i:j] and (j + 1 == n or _is_delimiter(q[j + 1])):
            j += 1  # the final dot of an abbreviation such as "U.S."
        raw = q[i:j]
        text = _nfkc(raw)
        if j < n and q[j] == "/" and text == _NEAR:
            return self._near(i, j + 1)
        if j < n and q[j] == "/" and text.upper() == _NEAR:
            k = j + 1
            while k < n and q[k] in "0123456789":
                k += 1
            if k > j + 1 and (k == n or _is_delimiter(q[k])):
                digits = q[j + 1 : k]
                self.warnings.append(
                    QueryWarning(
                        f"did you mean NEAR/{digits}? {_case(raw)}'{raw}/{digits}' is searched as"
                        f" the words '{raw}' and '{digits}'",
                        i + 1,
                    )
                )
                self.out.append(_Token(_WORD, raw, i + 1, text))
                return j + 1  # the '/' separates two words; the number is lexed next
        if j < n and q[j] == "*":
            if j + 1 < n and not _is_delimiter(q[j + 1]):
                raise QuerySyntaxError("'*' can only come at the end of a word", j + 1)
            self._check_normalised(raw, text, _PREFIX, i)
            self.out.append(_Token(_PREFIX, q[i : j + 1], i + 1, text))
            return j + 1
        if text in _KEYWORDS:
            self.out.append(_Token(text, raw, i + 1))
        else:
            self._check_normalised(raw, text, _WORD, i)
            self.out.append(_Token(_WORD, raw, i + 1, text))
        return j

    def _check_normalised(self, raw: str, text: str, kind: str, i: int) -> None:
        """Refuse a word that NFKC turns into something that would not read back as one word."""
        if text != raw and not _reads_back(text, kind):
            raise QuerySyntaxError(
                f"{_show(raw)} is not a word once Unicode-normalised (NFKC gives {_show(text)})",
                i + 1,
            )

    def _near(self, i: int, j: int) -> int:
        q, n, k = self.q, self.n, j
        while k < n and q[k] in "0123456789":
            k += 1
        if k == j or (k < n and not _is_delimiter(q[k])):
            raise QuerySyntaxError("expected a number after 'NEAR/', like NEAR/5", j + 1)
        digits = q[j:k]
        value = int(digits) if len(digits) <= 4 else MAX_NEAR + 1
        if not 1 <= value <= MAX_NEAR:
            raise QuerySyntaxError(
                f"NEAR distance must be between 1 and {MAX_NEAR}, not {digits[:8]}",
                j + 1,
            )
        self.out.append(_Token(_NEAR, q[i:k], i + 1, distance=value))
        return k

    def _field(self, name: str, i: int, j: int) -> int:
        """Lex ``name:`` (the colon ends at j); returns the index after what it consumed."""
        q, n = self.q, self.n
        label = f"'{name}:'"
        if name == "title":
            if j >= n or q[j].isspace():
                raise QuerySyntaxError(f"expected a term after {label}", j + 1)
            self.out.append(_Token(_FIELD, q[i:j], i + 1, field=name))
            return j
        k = j
        while k < n and not _is_delimiter(q[k]):
            k += 1
        raw = q[j:k]
        what = {"source": "a domain", "lang": "a language code"}.get(name, "an entity id")
        if not raw:
            raise QuerySyntaxError(f"expected {what} after {label}", j + 1)
        value = _nfkc(_nfkc(raw).lower())
        if not _valid_value(name, value):
            hint = {
                "source": "like source:reuters.com",
                "lang": "2 or 3 letters, like lang:uk",
            }.get(name, "lowercase letters, digits, '_' and '-'")
            raise QuerySyntaxError(f"expected {what} after {label} ({hint})", j + 1)
        self.out.append(_Token(_VALUE, q[i:k], i + 1, value, field=name))
        return k


def _case(word: str) -> str:
    return "lower-case " if word.islower() else ""


_TERM_END = frozenset({_WORD, _PREFIX, _PHRASE, _VALUE, _RPAREN})
_NEAR_GLUED = re.compile(r"NEAR([0-9]{1,3})", re.IGNORECASE)


def _lookalikes(tokens: list[_Token]) -> list[QueryWarning]:
    """Words that look like operators: ``NEAR5``, and ``and``/``or``/``not``/``near`` written
    in another case between two terms."""
    out: list[QueryWarning] = []
    for index, token in enumerate(tokens):
        if token.kind != _WORD:
            continue
        glued = _NEAR_GLUED.fullmatch(token.value)
        if glued is not None:
            out.append(
                QueryWarning(
                    f"did you mean NEAR/{glued.group(1)}? '{token.source}' is searched as a word",
                    token.column,
                )
            )
            continue
        word = token.value.upper()
        if word not in _KEYWORDS or index == 0:
            continue
        before, after = tokens[index - 1], tokens[index + 1]
        if before.kind in _TERM_END and (after.kind in _TERM_START or after.kind in "(-"):
            out.append(
                QueryWarning(
                    f"did you mean {word}? {_case(token.source)}'{token.source}' is searched as"
                    " a word",
                    token.column,
                )
            )
    return out


@functools.lru_cache(maxsize=1024)
def _reads_back(text: str, kind: str) -> bool:
    """Whether ``text`` (a normalised word or prefix) lexes as that one token again."""
    try:
        again = _Lexer(text + "*" if kind == _PREFIX else text).tokens()
    except QuerySyntaxError:
        return False
    return len(again) == 2 and again[0].kind == kind and again[0].value == text


def _valid_value(field: str, value: str) -> bool:
    if field == "lang":
        return 2 <= len(value) <= 3 and all("a" <= c <= "z" for c in value)
    if field == "source":
        labels = value.split(".")
        return all(label and all(_is_word_char(c) or c == "-" for c in label) for label in labels)
    return all("a" <= c <= "z" or "0" <= c <= "9" or c in "_-" for c in value)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.in_title = False
        self.term_count = 0

    def peek(self, ahead: int = 0) -> _Token:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else self.tokens[-1]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expected_term(self) -> QuerySyntaxError:
        token = self.peek()
        previous = self.tokens[self.pos - 1] if self.pos > 0 else None
        if token.kind == _RPAREN and previous is None:
            return _unmatched(token)
        if token.kind in (_AND, _OR, _NEAR) and (previous is None or previous.kind == _LPAREN):
            return QuerySyntaxError(f"expected a term before {_show(token.source)}", token.column)
        if previous is None:
            return QuerySyntaxError("expected a term", token.column)
        return QuerySyntaxError(f"expected a term after {_show(previous.source)}", token.column)

    def query(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token.kind != _EOF:  # the only token that can stop the top level early
            raise _unmatched(token)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek().kind == _OR:
            self.advance()
            items.append(self.and_())
        return _combine(Or, items)

    def and_(self) -> Node:
        items = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == _AND:
                self.advance()
            elif kind not in _UNARY_START:
                break
            items.append(self.unary())
        return _combine(And, items)

    def unary(self) -> Node:
        if self.peek().kind in (_NEG, _NOT):
            self.advance()
            return Not(self.near())
        return self.near()

    def at_single_term(self) -> bool:
        token = self.peek()
        if token.kind == _FIELD:
            return self.peek(1).kind != _LPAREN
        return token.kind in _TERM_START

    def at_group(self) -> bool:
        token = self.peek()
        return token.kind == _LPAREN or (token.kind == _FIELD and self.peek(1).kind == _LPAREN)

    def near(self) -> Node:
        start, count = self.pos, self.term_count
        if self.at_group():
            node = self.group()
        elif self.at_single_term():
            node = self.term()
        else:
            raise self.expected_term()
        if self.peek().kind != _NEAR:
            return node
        # An operand of NEAR: read it again under the stricter rules of a NEAR side.
        self.pos, self.term_count = start, count
        left = self.near_side()
        operator = self.advance()
        right = self.near_side()
        if self.peek().kind == _NEAR:
            raise QuerySyntaxError(
                "NEAR cannot be chained; combine NEAR conditions with AND", self.peek().column
            )
        return Near(left, right, operator.distance)

    def near_side(self) -> Node:
        """One side of NEAR: a text term, or a group of such terms joined by OR."""
        token = self.peek()
        if token.kind in (_NEG, _NOT):
            raise QuerySyntaxError(
                f"{_show(token.source)} cannot be used on a side of NEAR; negate the whole"
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
            if token.kind == _OR:
                self.advance()
                items.append(self.near_side())
            elif token.kind == _NEAR:
                raise QuerySyntaxError(
                    "NEAR cannot be used inside a NEAR group; combine NEAR conditions with AND",
                    token.column,
                )
            elif token.kind in (_NEG, _NOT):
                self.near_side()  # raises: NOT has no place inside a NEAR group
            elif token.kind == _AND or token.kind in _UNARY_START:
                raise QuerySyntaxError(
                    "a NEAR group holds alternatives joined by OR; AND cannot be used inside"
                    " one (write (a NEAR/5 c) AND (b NEAR/5 c))",
                    token.column,
                )
            else:
                return _combine(Or, items)

    def group(self, inner: Callable[[], Node] | None = None) -> Node:
        title = self.peek().kind == _FIELD
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
        if closing.kind != _RPAREN:
            previous = self.tokens[self.pos - 1]
            raise QuerySyntaxError(f"expected ')' after {_show(previous.source)}", closing.column)
        self.advance()
        self.depth -= 1
        if title:
            self.in_title = False
        return node

    def check_field_allowed(self, token: _Token) -> None:
        if self.in_title:
            raise QuerySyntaxError(
                f"'{token.field}:' cannot be used inside 'title:(...)'", token.column
            )

    def term(self) -> Term:
        token = self.advance()
        if token.kind == _FIELD:
            self.check_field_allowed(token)
            inner = self.peek()
            if inner.kind not in (_WORD, _PREFIX, _PHRASE):
                raise self.expected_term()
            self.advance()
            return self.make(inner.value, inner.kind, "title", token.column)
        if token.kind == _VALUE:
            self.check_field_allowed(token)
            return self.make(token.value, _WORD, token.field, token.column)
        field = "title" if self.in_title else None
        return self.make(token.value, token.kind, field, token.column)

    def make(self, text: str, kind: str, field: str | None, column: int) -> Term:
        self.term_count += 1
        if self.term_count > MAX_TERMS:
            raise QuerySyntaxError(f"too many terms (at most {MAX_TERMS})", column)
        term_kind: TermKind = (
            "phrase" if kind == _PHRASE else "prefix" if kind == _PREFIX else "word"
        )
        return Term(text, term_kind, field, column)


def _unmatched(token: _Token) -> QuerySyntaxError:
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
    tokens = _Lexer(query).tokens()
    node = _Parser(tokens).query()
    if not _has_positive(node):
        raise QuerySyntaxError(
            "a query needs at least one term that is not negated", tokens[0].column
        )
    return node


def query_warnings(query: str) -> list[QueryWarning]:
    """Look-alikes of operators in a query that parses, in the order they appear:

    - ``NEAR5`` (any case): did you mean ``NEAR/5``? It is searched as a word.
    - ``near/5`` (any case but ``NEAR``): did you mean ``NEAR/5``? It is searched as the two
      words ``near`` and ``5``.
    - ``and``, ``or``, ``not``, ``near`` in any case but upper case, between two terms: did you
      mean the operator? It is searched as a word.

    Raises QuerySyntaxError only for a query that ``parse`` refuses too."""
    lexer = _Lexer(query)
    tokens = lexer.tokens()
    seen = {w.column for w in lexer.warnings}
    found = lexer.warnings + [w for w in _lookalikes(tokens) if w.column not in seen]
    return sorted(found, key=lambda w: w.column)


def terms(node: Node) -> list[Term]:
    """Every Term of the tree, in query order."""
    out: list[Term] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Term):
            out.append(current)
        elif isinstance(current, Near):
            stack.extend((current.right, current.left))
        elif isinstance(current, Not):
            stack.append(current.item)
        else:
            stack.extend(reversed(current.items))
    return out


def _term_text(term: Term) -> str:
    if term.kind == "phrase":
        body = f'"{term.text}"'
    elif term.kind == "prefix":
        body = term.text + "*"
    else:
        body = term.text
    return f"{term.field}:{body}" if term.field else body


def _render(node: Node, top: bool) -> str:
    if isinstance(node, Term):
        return _term_text(node)
    if isinstance(node, Near):
        left, right = _render(node.left, False), _render(node.right, False)
        return f"{left} NEAR/{node.distance} {right}"
    if isinstance(node, Not):
        if isinstance(node.item, Term):
            return "-" + _term_text(node.item)
        return f"-({_render(node.item, True)})"
    if isinstance(node, And):
        return " ".join(_render(item, False) for item in node.items)
    text = " OR ".join(_render(item, False) for item in node.items)
    return text if top else f"({text})"


def to_text(node: Node) -> str:
    """Canonical text of a flattened tree: ``parse(to_text(t))`` equals ``t`` but for columns.

    AND is written as adjacency (``a b``), negation as ``-term`` or ``-(...)``, NEAR always with
    its distance, and parentheses only where an OR sits inside an AND or a NOT. The text can be
    longer than the query it came from (``title:(a OR b)`` becomes ``(title:a OR title:b)``;
    NFKC can lengthen a word), so near MAX_QUERY_LENGTH it may no longer be accepted.
    """
    return _render(node, True)
