"""Split a rule query into tokens, and find the look-alikes of operators among them.

The language itself (what each token means, columns, limits) is described in
``peacewatch.rules.query``, whose parser reads these tokens.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from peacewatch.errors import QuerySyntaxError

MAX_QUERY_LENGTH = 2000
MAX_TERMS = 200
MAX_DEPTH = 32
MAX_NEAR = 100
DEFAULT_NEAR = 10

FIELDS = ("title", "source", "lang", "actor", "place", "topic")


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
T_WORD, T_PREFIX, T_PHRASE = "word", "prefix", "phrase"
T_FIELD, T_VALUE = "field", "value"  # 'title:' / a complete source:, lang: or entity term
T_LPAREN, T_RPAREN, T_NEG, T_EOF = "(", ")", "-", "end"
T_AND, T_OR, T_NOT, T_NEAR = "AND", "OR", "NOT", "NEAR"
TERM_START = frozenset({T_WORD, T_PREFIX, T_PHRASE, T_FIELD, T_VALUE})
UNARY_START = TERM_START | {T_LPAREN, T_NEG, T_NOT}


class Token(NamedTuple):
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


def show(text: str) -> str:
    """A token for an error message: quoted, shortened, with unprintable characters spelled out."""
    if len(text) == 1 and not text.isprintable():
        return f"U+{ord(text):04X}"
    if len(text) > 30:
        text = text[:29] + "…"
    return "'" + "".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in text) + "'"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class Lexer:
    def __init__(self, query: str) -> None:
        self.q = query
        self.n = len(query)
        self.out: list[Token] = []
        self.warnings: list[QueryWarning] = []

    def tokens(self) -> list[Token]:
        q, i = self.q, 0
        end = 1  # column just after the last token
        while i < self.n:
            c = q[i]
            if c.isspace():
                i += 1
                continue
            start = i
            if c in "()":
                self.out.append(Token(c, c, i + 1))
                i += 1
            elif c in _QUOTES:
                i = self._phrase(i)
            elif c == "-":
                if i + 1 < self.n and (
                    _is_word_char(q[i + 1]) or q[i + 1] == "(" or q[i + 1] in _QUOTES
                ):
                    self.out.append(Token(T_NEG, "-", i + 1))
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
                    f"unexpected character {show(c)} (put text in quotes to search for it as"
                    " written)",
                    i + 1,
                )
            if i > start:
                end = i + 1
        self.out.append(Token(T_EOF, "", end))
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
                raise QuerySyntaxError(f"unexpected character {show(c)} in a phrase", k + 1)
        text = _nfkc(raw)
        if not text.strip():
            raise QuerySyntaxError("empty phrase", i + 1)
        if text != raw and any(c in _QUOTES for c in text):
            raise QuerySyntaxError(
                f"phrase {show(raw)} holds a quote once Unicode-normalised", i + 1
            )
        if j + 1 < self.n and self.q[j + 1] == "*":
            raise QuerySyntaxError("'*' can end a word but not a phrase", j + 2)
        self.out.append(Token(T_PHRASE, self.q[i : j + 1], i + 1, text))
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
        if j < n and q[j] == "/" and text == T_NEAR:
            return self._near(i, j + 1)
        if j < n and q[j] == "/" and text.upper() == T_NEAR:
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
                self.out.append(Token(T_WORD, raw, i + 1, text))
                return j + 1  # the '/' separates two words; the number is lexed next
        if j < n and q[j] == "*":
            if j + 1 < n and not _is_delimiter(q[j + 1]):
                raise QuerySyntaxError("'*' can only come at the end of a word", j + 1)
            self._check_normalised(raw, text, T_PREFIX, i)
            self.out.append(Token(T_PREFIX, q[i : j + 1], i + 1, text))
            return j + 1
        if text in _KEYWORDS:
            self.out.append(Token(text, raw, i + 1))
        else:
            self._check_normalised(raw, text, T_WORD, i)
            self.out.append(Token(T_WORD, raw, i + 1, text))
        return j

    def _check_normalised(self, raw: str, text: str, kind: str, i: int) -> None:
        """Refuse a word that NFKC turns into something that would not read back as one word."""
        if text != raw and not _reads_back(text, kind):
            raise QuerySyntaxError(
                f"{show(raw)} is not a word once Unicode-normalised (NFKC gives {show(text)})",
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
        self.out.append(Token(T_NEAR, q[i:k], i + 1, distance=value))
        return k

    def _field(self, name: str, i: int, j: int) -> int:
        """Lex ``name:`` (the colon ends at j); returns the index after what it consumed."""
        q, n = self.q, self.n
        label = f"'{name}:'"
        if name == "title":
            if j >= n or q[j].isspace():
                raise QuerySyntaxError(f"expected a term after {label}", j + 1)
            self.out.append(Token(T_FIELD, q[i:j], i + 1, field=name))
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
        self.out.append(Token(T_VALUE, q[i:k], i + 1, value, field=name))
        return k


def _case(word: str) -> str:
    return "lower-case " if word.islower() else ""


_TERM_END = frozenset({T_WORD, T_PREFIX, T_PHRASE, T_VALUE, T_RPAREN})
_NEAR_GLUED = re.compile(r"NEAR([0-9]{1,3})", re.IGNORECASE)


def _lookalikes(tokens: list[Token]) -> list[QueryWarning]:
    """Words that look like operators: ``NEAR5``, and ``and``/``or``/``not``/``near`` written
    in another case between two terms."""
    out: list[QueryWarning] = []
    for index, token in enumerate(tokens):
        if token.kind != T_WORD:
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
        if before.kind in _TERM_END and (after.kind in TERM_START or after.kind in "(-"):
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
        again = Lexer(text + "*" if kind == T_PREFIX else text).tokens()
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


def query_warnings(query: str) -> list[QueryWarning]:
    """Look-alikes of operators in a query that parses, in the order they appear:

    - ``NEAR5`` (any case): did you mean ``NEAR/5``? It is searched as a word.
    - ``near/5`` (any case but ``NEAR``): did you mean ``NEAR/5``? It is searched as the two
      words ``near`` and ``5``.
    - ``and``, ``or``, ``not``, ``near`` in any case but upper case, between two terms: did you
      mean the operator? It is searched as a word.

    Raises QuerySyntaxError only for a query that ``parse`` refuses too."""
    lexer = Lexer(query)
    tokens = lexer.tokens()
    seen = {w.column for w in lexer.warnings}
    found = lexer.warnings + [w for w in _lookalikes(tokens) if w.column not in seen]
    return sorted(found, key=lambda w: w.column)
