"""A Ukrainian or Russian headline for an English-reading team: translated, or its language."""

from __future__ import annotations

from typing import Protocol

from peacewatch.models import Article

TEAM_LANGUAGE = "en"
"""The language alerts are read in (teams have no setting of their own yet)."""
LANGUAGE_NAMES = {"uk": "Ukrainian", "ru": "Russian"}
"""Languages whose headlines get a note: the sides' own sources, where news often breaks."""
NOTE_KEY = "headline_note"
"""The key of the note in ``Alert.extra``; renderers show it under the headline."""


class HeadlineTranslator(Protocol):
    async def translate_headline(self, title: str, lang: str, target: str) -> str | None:
        """``title`` (in ``lang``) in ``target``; None when no translation could be had."""
        ...


async def headline_note(
    article: Article, translator: HeadlineTranslator | None, team_lang: str = TEAM_LANGUAGE
) -> str:
    """For a Ukrainian or Russian headline: ``English: ...`` when ``translator`` (an LLM
    endpoint) translates it, else ``Original in Russian``; ``""`` for other languages."""
    lang = (article.lang or "").lower()
    if lang not in LANGUAGE_NAMES or lang == team_lang or not article.title.strip():
        return ""
    if translator is not None:
        translated = await translator.translate_headline(article.title, lang, team_lang)
        if translated:
            return f"{LANGUAGE_NAMES.get(team_lang, 'English')}: {translated}"
    return f"Original in {LANGUAGE_NAMES[lang]}"
