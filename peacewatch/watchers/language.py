"""Language of an item from its text (py3langid, model shipped in the package; no download)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

# The languages of the outlets that cover the talks; a closed set keeps short headlines apart.
LANGUAGES = ("en", "uk", "ru", "pl", "de", "fr", "sv", "es", "it", "tr", "nl", "pt", "ar", "fi",
             "cs", "ro", "lt", "lv", "et", "hu", "bg", "be", "ka")  # fmt: skip
CONFIDENCE = 0.9


@functools.cache
def _identifier() -> Any:
    import py3langid.langid as langid

    from peacewatch.rules import diskcache

    # The shipped model is LZMA-compressed: 0.6 s of CPU to read at every start. The loaded
    # identifier is kept in the disk cache, under the model file's path, age and our languages.
    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    stamp = str(model.stat().st_mtime_ns) if model.exists() else ""
    key = diskcache.digest(str(model), stamp, ",".join(LANGUAGES), "slim")
    identifier = diskcache.read("langid", key)
    if not isinstance(identifier, langid.LanguageIdentifier):
        identifier = langid.LanguageIdentifier.from_modelpath(model, norm_probs=True)
        identifier.set_languages(list(LANGUAGES))
        # The identifier keeps the whole model (every language's column, 28 MB) to restrict
        # it again later; we never do, so only our languages' columns are kept (and cached).
        identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
        diskcache.write("langid", key, identifier, keep=2)
    return identifier


def detect(text: str, declared: str | None = None) -> str | None:
    """The language of ``text`` when the detector is confident, else ``declared``.

    Feeds often declare one language for items in several (POLITICO Europe mixes English, French
    and German), so a confident detection wins over the feed's declaration."""
    sample = " ".join(text.split())[:1000]
    if len(sample) < 20:
        return declared
    code, probability = _identifier().classify(sample)
    if probability >= CONFIDENCE:
        return str(code)
    return declared
