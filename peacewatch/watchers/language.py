"""Language of an item from its text (py3langid, model shipped in the package; no download)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import mmap
import os
import stat
import subprocess
import sys
import tempfile
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

# The languages of the outlets that cover the talks; a closed set keeps short headlines apart.
LANGUAGES = ("en", "uk", "ru", "pl", "de", "fr", "sv", "es", "it", "tr", "nl", "pt", "ar", "fi",
             "cs", "ro", "lt", "lv", "et", "hu", "bg", "be", "ka")  # fmt: skip
CONFIDENCE = 0.9
BUILD_SECONDS = 120.0
"""The most the child process that builds the model's parts at a first start may take
(about 2 s of CPU on a small machine)."""
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """The identifier's parts restricted to LANGUAGES, as the disk cache keeps them, with the
    tokenizer's transition table made compact (:func:`_compact`) and kept as raw bytes
    (py3langid's own pickle writes its 9.8 million entries as Python ints)."""

    nb_ptc: Any
    """Per feature, the log-probability of each language (numpy, features x languages)."""
    nb_pc: Any
    classes: tuple[str, ...]
    nextmove: bytes
    """Per row and byte class, the next state less the first state of the byte class's group:
    machine ints of type ``nextmove_type``."""
    nextmove_type: str
    output: tuple[Any, ...]
    """Per state, the feature it counts (-1: none)."""
    row: bytes
    """Per state, its row of ``nextmove``: machine ints of type ``row_type``."""
    row_type: str
    byte_class: bytes
    """Per byte, its class (a table for ``bytes.translate``): bytes whose transitions are the
    same from every state share one."""
    group: tuple[int, ...]
    """Per byte class, the first state of its group: the states a byte of the class leads to."""


def _compact(identifier: Any) -> Model:
    """The parts of py3langid's identifier with its transition table made compact, and the
    same walk: 15 MB instead of 39 MB, every state and feature as it was.

    Of the 256 byte values, 197 have a column of their own (the rest repeat one), so the table
    keeps a column per class of bytes. The scanner is an Aho-Corasick automaton: the state a
    byte leads to stands for a string ending in that byte (or is the start). So the states are
    renumbered by the class of the byte they end in, each class's group starting with a copy of
    the start state, and a transition is stored as the place of its state in the byte's group:
    a 16-bit number where the state needed 17 bits. (Checked, not assumed: a model that breaks
    it raises ValueError, and the caller keeps py3langid's table.)"""
    import numpy as np

    nextmove = identifier.tk_nextmove
    if isinstance(nextmove, array) and nextmove.itemsize == 4:
        table = np.frombuffer(nextmove, dtype=np.uint32)  # py3langid's own array, not a copy
    else:
        table = np.asarray(nextmove, dtype=np.uint32)
    table = table.reshape(-1, 256)
    row = np.asarray(identifier.tk_row, dtype=np.int64)
    output = np.asarray(identifier.tk_output, dtype=np.int64)
    # The distinct columns in ascending order (as ``np.unique(table.T, axis=0)`` gives them,
    # without its sorted copies of the whole table: 130 MB more at the first start): a
    # column's big-endian bytes sort as its numbers do.
    first_of: dict[bytes, int] = {}
    column_of = [first_of.setdefault(table[:, b].astype(">u4").tobytes(), b) for b in range(256)]
    distinct = sorted(first_of.items())
    rank = {b: k for k, (_, b) in enumerate(distinct)}
    byte_class = [rank[b] for b in column_of]
    table = table[:, [b for _, b in distinct]]  # rows x classes, old states
    del first_of, distinct
    starts, group_of = [], []
    place = np.zeros(table.shape, dtype=np.uint16)
    first = 0
    for k in range(table.shape[1]):
        targets = np.unique(table[:, k])
        targets = targets[targets != 0]
        if len(targets) + 1 > 1 << 16:
            raise ValueError("a byte class leads to more states than 16 bits number")
        place[:, k] = np.where(table[:, k] == 0, 0, np.searchsorted(targets, table[:, k]) + 1)
        starts.append(first)
        group_of.append(np.concatenate(([0], targets)))
        first += len(targets) + 1
    old = np.concatenate(group_of)  # the old state of each new one
    if len(np.unique(old[old != 0])) != len(old) - table.shape[1]:
        raise ValueError("a state is reached by bytes of two classes")
    return Model(
        identifier.nb_ptc,
        identifier.nb_pc,
        tuple(identifier.nb_classes),
        place.tobytes(),
        "H",
        tuple(int(o) for o in output[old]),
        row[old].astype(np.uint32).tobytes(),
        "I",
        bytes(byte_class),
        tuple(starts),
    )


@functools.cache
def _compact_identifier(langid: Any) -> type:
    """py3langid's identifier walking the compact table (:class:`Model`)."""

    class Compact(langid.LanguageIdentifier):  # type: ignore[misc]
        __slots__ = ("_byte_class", "_group")

        def _raw_score(self, text: bytes) -> Any:
            # py3langid's walk (visit_counts), each byte read as its class, each next state
            # found in the group of that class.
            nextmove, rowbase, output, group = (
                self.tk_nextmove, self._rowbase, self.tk_output, self._group
            )  # fmt: skip
            state, found = 0, list[int]()
            append = found.append
            for letter in text.translate(self._byte_class):
                state = nextmove[rowbase[state] + letter] + group[letter]
                feature = output[state]
                if feature >= 0:
                    append(feature)
            if found:
                return self._sparse_score(Counter(found), self.nb_ptc)
            return super()._raw_score(b"")  # no features: py3langid's answer for none

    return Compact


def _build(langid: Any, model: Model, nextmove: Any = None) -> Any:
    """The identifier from its parts; ``nextmove``: the transition table already in a form
    that indexes like an array (a read-only mapping of the cache file), else the model's."""
    row = array(model.row_type)
    row.frombytes(model.row)
    if nextmove is None:
        nextmove = array(model.nextmove_type)
        nextmove.frombytes(model.nextmove)
    identifier = _compact_identifier(langid)(
        model.nb_ptc, model.nb_pc, list(model.classes), nextmove,
        array("i", model.output), norm_probs=True, tk_row=array("B"),
    )  # fmt: skip
    # The per-state tables as arrays of machine ints, not lists of Python ints.
    # (The walk reads them only by index.)
    width = len(model.group)
    identifier.tk_row = row
    identifier._rowbase = array("I", (r * width for r in row))
    identifier._byte_class = model.byte_class
    identifier._group = array("I", model.group)
    return identifier


def _mapped_table(model: Model, key: str) -> Any:
    """The transition table (15 MB) as a read-only mapping of a file beside the disk cache:
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


def cache_key() -> str:
    """The disk cache's key of the parts: the model file's path and age, the languages and the
    form the parts take."""
    import py3langid.langid as langid

    from peacewatch.rules import diskcache

    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    stamp = str(model.stat().st_mtime_ns) if model.exists() else ""
    return diskcache.digest(str(model), stamp, ",".join(LANGUAGES), "compact parts")


@functools.cache
def _identifier() -> Any:
    import py3langid.langid as langid

    from peacewatch.rules import diskcache

    # The shipped model is LZMA-compressed: 0.6 s of CPU to read at every start. Its parts for
    # our languages are kept in the disk cache, under the model file's path, age and languages.
    key = cache_key()
    stored = diskcache.read("langid", key)
    if not isinstance(stored, Model) and diskcache.cache_dir() is not None and _build_apart():
        stored = diskcache.read("langid", key)
    if isinstance(stored, Model):
        try:
            return _build(langid, stored, _mapped_table(stored, key))
        except (TypeError, ValueError):
            pass  # damaged: read the shipped model again
    return _build_here(langid, key)


def _build_here(langid: Any, key: str) -> Any:
    """The identifier from the shipped model, its parts written to the disk cache."""
    from peacewatch.rules import diskcache

    model = Path(langid.MODEL_DIR) / langid.MODEL_FILE
    identifier = langid.LanguageIdentifier.from_modelpath(model, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    try:
        parts = _compact(identifier)
    except ValueError:  # a model whose table cannot be made compact: py3langid's own walk
        return identifier
    del identifier
    diskcache.write("langid", key, parts, keep=2)
    # built from its parts, it holds only our languages' columns, not the whole model's
    return _build(langid, parts, _mapped_table(parts, key))


def write_parts() -> None:
    """Build the parts from the shipped model and store them in the disk cache (what
    :func:`_build_apart` runs in a child process)."""
    import py3langid.langid as langid

    _build_here(langid, cache_key())


def _build_apart() -> bool:
    """Build the disk cache's parts in a child process; whether it succeeded.

    Reading the shipped model and making its table compact peaks at about 185 MB, and the
    process that did it keeps some 50 MB of the freed memory for good (the allocator returns
    little of it to the system): a long-running bot at its first start would carry that for
    months. A child gives all of it back when it ends; this process then reads the parts as
    every later start does."""
    code = "from peacewatch.watchers.language import write_parts; write_parts()"
    try:
        done = subprocess.run(  # this interpreter, a fixed program
            [sys.executable, "-c", code],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=BUILD_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("language model: building its parts in a child process failed (%s); "
                    "building them here", exc)  # fmt: skip
        return False
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        log.warning("language model: the child process that builds its parts exited with %d "
                    "(%s); building them here", done.returncode, tail[0])  # fmt: skip
        return False
    return True


def load() -> None:
    """Load the identifier now (else the first ``detect`` of a long enough text does)."""
    _identifier()


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
