"""The sentences of an article that a summary may hold, each with its content words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import filterfalse
from operator import itemgetter

from peacewatch.models import Article
from peacewatch.pipeline.sentences import Sentence, sentences

__all__ = ["SCAN_CHARS", "Candidate", "candidates", "content_tokens", "folded_candidates"]

SCAN_CHARS = 4000
"""Only the first this many characters of a body are split: the lead of a news article holds its
summary."""

_WORD = re.compile(r"\w{3,}")
_STEM = 6
_STOPWORD_TEXT = """
    the and for that with from this have has had was were are been will would could should
    said says say also about after before into over than then them they their there these those
    what when where which while who whom whose why how its his her our your not but all any can
    more most some such only other one two new very just like out off per via
    и в во на не что как это по из за от для но то же бы ли его ее её их они она он мы вы
    так уже еще ещё при до со об или а также этот эта эти был была были будет
    і та що це як від для але щоб які який яка також вже ще або бути був була було
    der die das und ist nicht mit von den dem des ein eine einer auf für sich auch
    les des une est pas que qui dans pour par sur avec
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_LINK = re.compile(r"https?://|www\.\w", re.IGNORECASE)
"""A link, looked for only in a sentence with ``://`` or ``www.``."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w")
"""An address, looked for only in a sentence with an @: trying it at every word costs more than
the rest of the sentence's checks together."""
# Feed furniture that the splitter hands back as sentences; matched at the start of a sentence.
_BOILERPLATE = re.compile(
    r"^(continue reading|keep reading|read more|read the full|subscribe|sign up|follow us|"
    r"click here|watch:|listen:|photo:|image:|advertisement|sponsored|what we know on day|"
    r"the post .* appeared first|submitted by /?u/|\[link\]|\[comments\]|watch (the )?video|"
    r"video below|get our breaking news email|follow our .{0,60}live blog)",
    re.IGNORECASE,
)
_TRUNCATION = re.compile(r"\s*(\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\))\s*$")
_SYMBOLS = frozenset(("So", "Sk", "Sm", "Cs", "Co"))
_TERMINAL = frozenset(".!?…:;\"'”’»)]")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of an article that could go into a summary."""

    index: int
    """Position among the article's sentences, 0 for the first."""
    sentence: Sentence
    tokens: frozenset[str]
    junk: bool
    """Too short to say anything, or a cut-off ending."""

    @property
    def text(self) -> str:
        return self.sentence.text


def content_tokens(text: str) -> frozenset[str]:
    """The content words of ``text``, case-folded and cut to a common stem, for overlap measures
    that do not care about inflection (``deploy``/``deploying``, ``переговоры``/``переговорах``)."""
    # the words case-folded in one call: folding never makes a space
    words = " ".join(_WORD.findall(text)).casefold().split(" ")
    return frozenset([word[:_STEM] for word in words if word not in _STOPWORDS and word])


_STEM_OF = itemgetter(slice(None, _STEM))
"""``word[:_STEM]`` as a function, so a sentence's words are cut and filtered in C loops."""
_IS_STOPWORD = _STOPWORDS.__contains__


def _tokens_in(folded: str, start: int, end: int) -> frozenset[str]:
    """``content_tokens`` of the text whose case-folding is ``folded[start:end]``, when folding
    kept every character one character and its class (see ``_folds_in_place``)."""
    return frozenset(map(_STEM_OF, filterfalse(_IS_STOPWORD, _WORD.findall(folded, start, end))))


def _folds_in_place(text: str, folded: str) -> bool:
    """Whether ``folded`` (``text`` case-folded) holds each character of ``text`` folded at the
    same offset, with the same word characters: then the content words of a span of ``text`` are
    those of the same span of ``folded``. Folding never drops a character, so equal lengths mean
    one character for one; the one character whose folding is a word character while it is not
    one (U+0345, a Greek combining mark) is left to the slower way."""
    return len(folded) == len(text) and "\u0345" not in text


def _is_furniture(sent: Sentence) -> bool:
    """A link, a sign-up line, a run of hashtags or an emoji-led line: never part of a summary."""
    text = sent.text
    if not text[0].isalpha() and not any(ch.isalpha() for ch in text):
        return True
    linked = "://" in text or "www." in text.lower()
    if (linked and _LINK.search(text)) or ("@" in text and _EMAIL.search(text)):
        return True
    if _BOILERPLATE.match(text):
        return True
    if "#" in text or "@" in text:
        words = text.split()
        if sum(w.startswith(("#", "@")) for w in words) * 2 >= len(words):
            return True
    return unicodedata.category(text[0]) in _SYMBOLS


def _is_weak(sent: Sentence, text: str, last: bool) -> bool:
    """Too short to say anything, or the stump of a body that stops mid-sentence (feeds cut
    descriptions at a fixed length): used only when nothing better is there."""
    if len(sent.text.split(None, 2)) < 3:  # two splits tell
        return True
    return last and sent.end >= len(text.rstrip()) and sent.text[-1] not in _TERMINAL


def _scan_text(body: str) -> str:
    if body.rstrip().endswith(("]", ")")):  # _TRUNCATION needs one (trying it costs more)
        body = _TRUNCATION.sub("", body)
    if len(body) <= SCAN_CHARS:
        return body
    head = body[:SCAN_CHARS]
    cut = max(head.rfind("\n"), head.rfind(". "))
    return head[: cut + 1] if cut > SCAN_CHARS // 2 else head


def candidates(article: Article) -> list[Candidate]:
    """The sentences of the article body (its lead, for very long bodies) that could go into a
    summary; weak ones are marked ``junk``, feed furniture is left out.

    Offsets are those of ``article.body``, so body hits can be placed in them.
    """
    return folded_candidates(article)[0]


def folded_candidates(article: Article) -> tuple[list[Candidate], list[str]]:
    """``candidates(article)``, and the text of each case-folded."""
    text = _scan_text(article.body)
    sents = sentences(text, article.lang)
    last = len(sents) - 1
    cands: list[Candidate] = []
    folded: list[str] = []
    # the text is case-folded once, and each sentence's words read from its span of the folded
    # text, unless folding moved characters
    whole = text.casefold()
    in_place = _folds_in_place(text, whole)
    for i, sent in enumerate(sents):
        if _is_furniture(sent):
            continue
        if in_place:
            tokens = _tokens_in(whole, sent.start, sent.end)
            folded.append(whole[sent.start : sent.end])
        else:
            tokens = content_tokens(sent.text)
            folded.append(sent.text.casefold())
        cands.append(Candidate(i, sent, tokens, _is_weak(sent, text, i == last)))
    return cands, folded
