"""Language of an item from its text (py3langid, model shipped in the package; no download)."""

from __future__ import annotations

import dataclasses
import functools
from array import array
from pathlib import Path
from typing import Any

# The languages of the outlets that cover the talks; a closed set keeps short headlines apart.
LANGUAGES = ("en", "uk", "ru", "pl", "de", "fr", "sv", "es", "it", "tr", "nl", "pt", "ar", "fi",
             "cs", "ro", "lt", "lv", "et", "hu", "bg", "be", "ka")  # fmt: skip
CONFIDENCE = 0.9


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """The identifier's parts restricted to LANGUAGES, as the disk cache keeps them: the
    tokenizer's transition table as raw bytes (py3langid's own pickle writes its 2.5 million
    entries as Python ints: 39 MB to read back through a 90 MB list at every start)."""

    nb_ptc: Any
    """Per feature, the log-probability of each language (numpy, features x languages)."""
    nb_pc: Any
    classes: tuple[str, ...]
    nextmove: bytes
    nextmove_type: str
    output: tuple[Any, ...]
    row: bytes
    row_type: str


def _parts(identifier: Any) -> Model:
    return Model(
        identifier.nb_ptc,
        identifier.nb_pc,
        tuple(identifier.nb_classes),
        identifier.tk_nextmove.tobytes(),
        identifier.tk_nextmove.typecode,
        tuple(identifier.tk_output),
        identifier.tk_row.tobytes(),
        identifier.tk_row.typecode,
    )


def _build(langid: Any, model: Model) -> Any:
    nextmove, row = array(model.nextmove_type), array(model.row_type)
    nextmove.frombytes(model.nextmove)
    row.frombytes(model.row)
    return langid.LanguageIdentifier(
        model.nb_ptc, model.nb_pc, list(model.classes), nextmove, list(model.output),
        norm_probs=True, tk_row=row,
    )  # fmt: skip


@functools.cache
def _identifier() -> Any:
    import py3langid.langid as langid

    from peacewatch.rules import diskcache

    # The shipped model is LZMA-compressed: 0.6 s of CPU to read at every start. Its parts for
    # our languages are kept in the disk cache, under the model file's path, age and languages.
    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    stamp = str(model.stat().st_mtime_ns) if model.exists() else ""
    key = diskcache.digest(str(model), stamp, ",".join(LANGUAGES), "parts")
    stored = diskcache.read("langid", key)
    if isinstance(stored, Model):
        try:
            return _build(langid, stored)
        except (TypeError, ValueError):
            pass  # damaged: read the shipped model again
    identifier = langid.LanguageIdentifier.from_modelpath(model, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    parts = _parts(identifier)
    diskcache.write("langid", key, parts, keep=2)
    # built from its parts, it holds only our languages' columns, not the whole model's
    return _build(langid, parts)


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
