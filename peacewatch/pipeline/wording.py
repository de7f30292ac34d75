"""How an alert names things: entities by a display name, matched terms by the words found."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from peacewatch.models import Alert, Article, Hit
from peacewatch.pipeline.summarise import language_code
from peacewatch.rules.entities import Entity, EntityDictionary, builtin_dictionary

ENTITY_FIELDS = ("actor", "place", "topic")
MAX_WORDS = 12
"""At most this many matched words are shown."""
_UKRAINIAN_MARKS = frozenset("іїєґ'’")
_RUSSIAN_MARKS = frozenset("ыэъё")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_FLEXIBLE_GAP = r"[\s\-‐‑–]+"


@dataclass(frozen=True, slots=True)
class Named:
    """An entity as an alert shows it."""

    kind: str
    """``actor``, ``place``, ``topic``; ``actor`` for an id no dictionary knows."""
    name: str


def alert_language(alert: Alert) -> str:
    """The language the alert is written in: its article's, else guessed from the headline's
    script (Cyrillic spelt the Ukrainian way is ``uk``, other Cyrillic ``ru``, else ``en``)."""
    if alert.lang:
        return language_code(alert.lang)
    return _script_language(alert.headline or alert.summary)


def _script_language(text: str) -> str:
    if not _CYRILLIC.search(text):
        return "en"
    return "uk" if _spelling_score(text, "uk") > 0 else "ru"


def _is_cyrillic(name: str) -> bool:
    return _CYRILLIC.search(name) is not None and _LATIN.search(name) is None


def _spelling_score(name: str, lang: str) -> int:
    """How surely a Cyrillic name is spelt the ``lang`` way (Ukrainian or Russian)."""
    folded = name.casefold()
    ukrainian = any(ch in _UKRAINIAN_MARKS for ch in folded) or "ськ" in folded
    russian = any(ch in _RUSSIAN_MARKS for ch in folded) or bool(re.search(r"[сц]кий\b", folded))
    mine, other = (ukrainian, russian) if lang == "uk" else (russian, ukrainian)
    mine = mine or (name.isupper() and len(name) <= 5)  # НАТО, ООН read the same in both
    return (2 if mine else 0) - (2 if other else 0)


def display_name(entity: Entity, lang: str) -> str:
    """The name an alert in ``lang`` uses for ``entity``: for ``uk`` and ``ru`` the dictionary's
    Cyrillic name most surely spelt that language's way (the first of equals), for
    Latin-script languages its first Latin name (the English one); else its first name."""
    if lang in ("uk", "ru"):
        cyrillic = [(i, n) for i, n in enumerate(entity.names) if _is_cyrillic(n)]
        if cyrillic:
            best = max(cyrillic, key=lambda p: (_spelling_score(p[1], lang), -p[0]))
            return best[1]
    else:
        latin = [n for n in entity.names if not _is_cyrillic(n)]
        if latin:
            return latin[0]
    return entity.names[0] if entity.names else humanise(entity.id)


def humanise(entity_id: str) -> str:
    """A readable stand-in for an id no dictionary knows: ``andrii_hnatov`` → ``Andrii Hnatov``."""
    words = [w for w in re.split(r"[_\-\s]+", entity_id) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or entity_id


def entity_names(alert: Alert, dictionary: EntityDictionary | None = None) -> list[Named]:
    """The alert's entities by display name in its language: actors, then places, then topics,
    each in the order the alert lists them; never an id."""
    dictionary = dictionary or builtin_dictionary()
    lang = alert_language(alert)
    found: list[Named] = []
    for entity_id in alert.entities:
        entity = dictionary.get(entity_id)
        named = (
            Named(entity.kind, display_name(entity, lang))
            if entity is not None
            else Named("actor", humanise(entity_id))
        )
        if named not in found:
            found.append(named)
    order = {kind: i for i, kind in enumerate(ENTITY_FIELDS)}
    return sorted(found, key=lambda n: order.get(n.kind, 0))


def surface_words(
    hits: Iterable[Hit], article: Article | None = None, limit: int = MAX_WORDS
) -> tuple[str, ...]:
    """One word per matched term, as the article wrote it: the term's first hit (the title
    before the body), widened to the whole word when ``article`` is given (a prefix term
    ``Ukrain*`` shows ``Ukraine's``, not ``Ukrain``); each word once, at most ``limit``."""
    ordered = sorted(hits, key=lambda h: (h.field != "title", h.start))
    words: list[str] = []
    seen_terms: set[str] = set()
    seen: set[str] = set()
    for hit in ordered:
        if hit.term in seen_terms:
            continue
        seen_terms.add(hit.term)
        word = " ".join(_whole_word(hit, article).split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return tuple(words[:limit])


def _whole_word(hit: Hit, article: Article | None) -> str:
    if article is None:
        return hit.text
    text = article.title if hit.field == "title" else article.body
    if text[hit.start : hit.end] != hit.text:
        return hit.text  # offsets of another version of the text: keep what the hit saw
    end = hit.end
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[hit.start : end]


def _forms(label: str, dictionary: EntityDictionary) -> tuple[Entity | None, list[str]]:
    """The entity a matched label stands for (if any) and the spellings to look for."""
    field, sep, rest = label.partition(":")
    if sep and field in ENTITY_FIELDS:
        entity = dictionary.get(rest)
        return entity, list(entity.names) if entity else [humanise(rest)]
    if label.endswith("*"):
        return None, [label]
    entity = dictionary.lookup(label) if not any(ch.isspace() for ch in label) else None
    if entity is not None:
        return entity, [label, *entity.names]
    return None, [label]


def _pattern(form: str) -> re.Pattern[str]:
    if form.endswith("*"):
        body = re.escape(form[:-1].strip())
        return re.compile(rf"(?<!\w){body}\w*", re.IGNORECASE)
    words = [re.escape(w) for w in re.split(r"[\s\-‐‑–]+", form.strip()) if w]
    body = _FLEXIBLE_GAP.join(words)
    if _is_cyrillic(form) and len(form) >= 5:
        # Cyrillic names are inflected (Зеленський, Зеленського): the stem, then any ending.
        return re.compile(rf"(?<!\w){body[:-2] if len(words) == 1 else body}\w*", re.IGNORECASE)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _readable(label: str, entity: Entity | None, lang: str) -> str:
    if entity is not None:
        return display_name(entity, lang)
    return label.rstrip("*").strip() + ("…" if label.endswith("*") else "")


def matched_words(alert: Alert, dictionary: EntityDictionary | None = None) -> list[str]:
    """What matched, as the alert shows it: the words as the article wrote them.

    ``alert.matched_words`` when the pipeline recorded them; otherwise each matched term is
    looked for, in every spelling of its entity, in the alert's own text (headline, summary,
    what it adds, its article's headline), and shown as written there; a term found only
    further down the article is shown by its entity's display name in the alert's language,
    or as the term itself without query syntax."""
    if alert.matched_words:
        return list(alert.matched_words)
    dictionary = dictionary or builtin_dictionary()
    lang = alert_language(alert)
    texts = [alert.headline, alert.summary, alert.extra.get("adds", "")]
    texts += [s.title for s in alert.sources if s.link == alert.link and s.title]
    words: list[str] = []
    for label in alert.matched:
        entity, forms = _forms(label, dictionary)
        word = ""
        for text in texts:
            spans = [m for form in forms if (m := _pattern(form).search(text))]
            if spans:
                first = min(spans, key=lambda m: (m.start(), -len(m.group())))
                word = " ".join(first.group().split())
                break
        word = word or _readable(label, entity, lang)
        if word.casefold() not in {w.casefold() for w in words}:
            words.append(word)
    return words[:MAX_WORDS]
