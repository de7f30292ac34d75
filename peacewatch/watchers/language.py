"""Language of an item from its text (py3langid, model shipped in the package; no download)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import mmap
import os
import stat
import tempfile
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


def _build(langid: Any, model: Model, nextmove: Any = None) -> Any:
    """The identifier from its parts; ``nextmove``: the transition table already in a form
    that indexes like an array (a read-only mapping of the cache file), else the model's."""
    row = array(model.row_type)
    row.frombytes(model.row)
    if nextmove is None:
        nextmove = array(model.nextmove_type)
        nextmove.frombytes(model.nextmove)
    identifier = langid.LanguageIdentifier(
        model.nb_ptc, model.nb_pc, list(model.classes), nextmove,
        array("i", model.output), norm_probs=True, tk_row=row,
    )  # fmt: skip
    # The per-state tables as arrays of machine ints, not lists of Python ints: 6 MB less.
    # (py3langid reads them only by index.)
    identifier._rowbase = array("I", (r << 8 for r in row))
    return identifier


def _mapped_table(model: Model, key: str) -> Any:
    """The transition table (39 MB) as a read-only mapping of a file beside the disk cache:
    clean file pages, shared by every process that maps them and reclaimable by the kernel
    under memory pressure, instead of private memory copied out of the cache entry at every
    start. (Resident all the same once texts have walked it: the kernel maps a file's cached
    pages around each one touched.) None when the cache is off or the file cannot be written
    or does not match the model."""
    from peacewatch.rules import diskcache

    base = diskcache.cache_dir()
    if base is None:
        return None
    path = base / f"langid-{key}.table"
    want = hashlib.sha256(model.nextmove).digest()
    try:
        if not (path.exists() and _private(path) and _file_digest(path) == want):
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(base):
                return None
            fd, tmp = tempfile.mkstemp(prefix=".langid-", dir=base)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(model.nextmove)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            for other in base.glob("langid-*.table"):  # an earlier model's, or languages'
                if other != path:
                    other.unlink(missing_ok=True)
        with path.open("rb") as file:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    if len(mapped) != len(model.nextmove):
        mapped.close()
        return None
    fmt: Any = model.nextmove_type  # an array typecode, as the cast takes it
    return memoryview(mapped).cast(fmt)


def _private(path: Path) -> bool:
    """Ours, and nobody else may write it (a table someone changed could only misdirect the
    walk, but it is checked as the cache's entries are)."""
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _file_digest(path: Path) -> bytes:
    """SHA-256 of the file, read (not mapped: its pages do not become ours)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


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
            return _build(langid, stored, _mapped_table(stored, key))
        except (TypeError, ValueError):
            pass  # damaged: read the shipped model again
    identifier = langid.LanguageIdentifier.from_modelpath(model, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    parts = _parts(identifier)
    del identifier
    diskcache.write("langid", key, parts, keep=2)
    # built from its parts, it holds only our languages' columns, not the whole model's
    return _build(langid, parts, _mapped_table(parts, key))


def detect(text: str, declared: str | None = None) -> str | None:
    """The language of ``text`` when the detector is confident, else ``declared``.

    Feeds often declare one language for items in several (POLITICO Europe mixes English, French
    and German), so a confident detection wins over the feed's declaration."""
    sample = " ".join(text.split())[:1000]
    if len(sample) < 20:
        return declared
    key = hashlib.blake2b(sample.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    found = _seen.get(key)
    if found is None:
        code, probability = _identifier().classify(sample)
        found = str(code) if probability >= CONFIDENCE else None
        if len(_seen) >= SEEN_TEXTS:
            del _seen[next(iter(_seen))]  # the oldest
        _seen[key] = found
    return found or declared


SEEN_TEXTS = 20_000
"""Texts whose language is remembered (by a 128-bit digest of the text, about 3 MB): feeds
that carry the same item (news-search feeds, a wire story on many sites) detect it once."""
_seen: dict[bytes, str | None] = {}
