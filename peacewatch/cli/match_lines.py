"""The JSON line of each match that `peacewatch match` prints, as ``json.dumps`` writes it."""

from __future__ import annotations

from json.encoder import encode_basestring

from peacewatch.models import Hit, Match

__all__ = ["MatchLines"]


class MatchLines:
    """The lines of one article's matches: ``json.dumps(record, ensure_ascii=False)`` of each
    match's record, with the JSON of each hit made once for all the matches that share it (the
    rules that name a term share its hits)."""

    def __init__(self, article_id: str) -> None:
        self._head = '{"article_id": ' + encode_basestring(article_id) + ', "rule_id": '
        self._hits: dict[int, tuple[Hit, str]] = {}
        # the JSON of values that matches share as one object (a team's entities, a summary
        # chosen for several rules), by the object's id; each entry holds its object, so no
        # other object can take that id
        self._lists: dict[int, tuple[tuple[str, ...], str]] = {}
        self._texts: dict[int, tuple[str, str]] = {}
        self._hit_lists: dict[int, tuple[tuple[Hit, ...], str]] = {}

    def line(self, match: Match, summary: str) -> str:
        """The record of ``match`` (article_id, rule_id, matched, hits, entities, summary) as
        one JSON line, with its line break."""
        return "".join(
            (
                self._head,
                encode_basestring(match.rule_id),
                ', "matched": ',
                _strings(match.matched),
                ', "hits": [',
                self._hit_list(match.hits),
                '], "entities": ',
                self._list(match.entities),
                ', "summary": ',
                self._text(summary),
                "}\n",
            )
        )

    def _list(self, values: tuple[str, ...]) -> str:
        found = self._lists.get(id(values))
        if found is None:
            found = self._lists[id(values)] = (values, _strings(values))
        return found[1]

    def _text(self, text: str) -> str:
        found = self._texts.get(id(text))
        if found is None:
            found = self._texts[id(text)] = (text, encode_basestring(text))
        return found[1]

    def _hit_list(self, hits: tuple[Hit, ...]) -> str:
        # matches of one term share its tuple of hits: its JSON is made once
        found = self._hit_lists.get(id(hits))
        if found is None:
            text = ", ".join([self._hit(hit) for hit in hits])
            found = self._hit_lists[id(hits)] = (hits, text)
        return found[1]

    def _hit(self, hit: Hit) -> str:
        # by the hit's id: the entry holds the hit, so no other object can take its id
        found = self._hits.get(id(hit))
        if found is None:
            text = (
                f'{{"term": {encode_basestring(hit.term)}, "field": {encode_basestring(hit.field)}'
                f', "start": {int.__repr__(hit.start)}, "end": {int.__repr__(hit.end)}'
                f', "text": {encode_basestring(hit.text)}}}'
            )
            found = self._hits[id(hit)] = (hit, text)
        return found[1]


def _strings(values: tuple[str, ...]) -> str:
    return "[" + ", ".join([encode_basestring(value) for value in values]) + "]"
