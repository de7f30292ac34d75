"""What the poller remembers of each feed's last complete read, so that the next read of a changed
feed parses only its new items and still checks the same mojibake sample.

Per item of the read (see :mod:`peacewatch.watchers.items`): its fingerprint, its date, the first
32 bits of its article id (ties between equal dates) and its mojibake verdict when it was in a
sample. 21 bytes an item, in this process's memory only: another replica, or this one after a
restart, reads the feed whole once and remembers from then on.
"""

from __future__ import annotations

import heapq
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from peacewatch.watchers.encoding import looks_garbled
from peacewatch.watchers.items import Items
from peacewatch.watchers.parse import ParsedFeed

GARBLED_SAMPLE = 25
"""Items of a read checked for mojibake, on the event loop: the new ones first, then the most
recent others (so a later read that brings nothing new still says whether the text is fixed)."""

UNKNOWN, CLEAN, GARBLED, UNREAD = -1, 0, 1, 2
"""An item's verdict: not checked yet, checked and clean, checked and garbled, or an entry that
could not be read (never in a sample)."""

_ROW = struct.Struct("<8sdIb")


@dataclass(frozen=True, slots=True)
class Remembered:
    published: float | None
    key: int
    """The first 32 bits of the article id."""
    verdict: int


Row = tuple[bytes, float | None, int, int]
"""(fingerprint, published, id key, verdict) of one item."""


def id_key(article_id: str) -> int:
    return int(article_id[:8], 16)


def pack(rows: Iterable[Row]) -> bytes:
    return b"".join(
        _ROW.pack(fp, math.nan if published is None else published, key, verdict)
        for fp, published, key, verdict in rows
    )


def unpack(record: bytes) -> dict[bytes, Remembered]:
    out: dict[bytes, Remembered] = {}
    for fp, published, key, verdict in _ROW.iter_unpack(record):
        out[fp] = Remembered(None if math.isnan(published) else published, key, verdict)
    return out


class ReadMemory:
    """Feed id -> its last complete read, packed."""

    def __init__(self) -> None:
        self._reads: dict[str, bytes] = {}

    def get(self, feed_id: str) -> dict[bytes, Remembered] | None:
        record = self._reads.get(feed_id)
        return None if record is None else unpack(record)

    def put(self, feed_id: str, rows: Iterable[Row]) -> None:
        self._reads[feed_id] = pack(rows)

    def forget(self, feed_id: str) -> None:
        self._reads.pop(feed_id, None)


def samples_known(carried: Sequence[Remembered], stamp: float) -> bool:
    """Whether the remembered items a sample could take (the most recent GARBLED_SAMPLE of
    them) all have a verdict: else the read must parse them again to check them."""
    readable = [r for r in carried if r.verdict != UNREAD]
    top = heapq.nlargest(GARBLED_SAMPLE, readable, key=lambda r: _recency(r, stamp))
    return all(r.verdict in (CLEAN, GARBLED) for r in top)


def _recency(r: Remembered, stamp: float) -> tuple[float, int]:
    return (r.published if r.published is not None else stamp, r.key)


@dataclass(slots=True)
class Candidate:
    """An item that may be in a read's mojibake sample."""

    new: bool
    published: float
    key: str | int
    entry: int = -1
    """Index of the parsed entry; -1 for a remembered item, whose ``verdict`` is known."""
    text: str | None = None
    verdict: int = UNKNOWN


def carried_candidates(carried: Sequence[Remembered], stamp: float) -> list[Candidate]:
    return [
        Candidate(
            False, r.published if r.published is not None else stamp, r.key, verdict=r.verdict
        )
        for r in carried
        if r.verdict != UNREAD
    ]


def pick_sample(candidates: list[Candidate]) -> list[Candidate]:
    """The sample: new items first, then the others, each newest first; GARBLED_SAMPLE at most."""
    ordered = sorted(candidates, key=lambda c: (c.published, c.key))
    order = sorted(range(len(ordered)), key=lambda i: (not ordered[i].new, -i))
    return [ordered[i] for i in order[:GARBLED_SAMPLE]]


def judge(sample: list[Candidate]) -> tuple[int, int]:
    """(garbled, checked) of the sample; sets the verdict of each parsed item in it."""
    garbled = 0
    for candidate in sample:
        if candidate.verdict == UNKNOWN:
            candidate.verdict = GARBLED if looks_garbled(candidate.text or "") else CLEAN
        garbled += candidate.verdict == GARBLED
    return garbled, len(sample)


@dataclass(slots=True)
class ReadPlan:
    """How a changed feed is read: its ``items``, which of them the last read had (``known``),
    and whether the parser may skip those (``partial``)."""

    items: Items
    memory: dict[bytes, Remembered]
    stamp: float
    known: list[bool] = field(init=False)
    partial: bool = field(init=False)

    def __post_init__(self) -> None:
        self.known = [fp in self.memory for fp in self.items.fingerprints]
        self.partial = (
            any(self.known) and not all(self.known) and samples_known(self.carried(), self.stamp)
        )

    @property
    def nothing_new(self) -> bool:
        """Every item is one the last complete read had (a changed date in the channel, an
        item gone)."""
        return bool(self.memory) and all(self.known)

    @property
    def unknown_count(self) -> int:
        return len(self.known) - sum(self.known)

    def carried(self) -> list[Remembered]:
        """The remembered items of the known ones, in document order."""
        fps = self.items.fingerprints
        return [self.memory[fp] for fp, known in zip(fps, self.known, strict=True) if known]

    def rows_kept(self) -> list[Row]:
        """The rows to remember when nothing was parsed (every item known)."""
        return [_row(fp, self.memory[fp]) for fp in self.items.fingerprints]

    def rows(
        self, parsed: ParsedFeed, ids: Sequence[str | None], verdicts: Sequence[int]
    ) -> list[Row] | None:
        """The rows to remember after parsing (None when the parser's entries do not match
        the items one to one: the next read is then a whole one)."""
        fps = self.items.fingerprints
        parsed_fps = [
            fp for fp, k in zip(fps, self.known, strict=True) if not k or not self.partial
        ]
        if len(parsed.entries) != len(parsed_fps):
            return None
        read: dict[bytes, Row] = {}
        failed: set[bytes] = set()
        for fp, entry, article_id, verdict in zip(
            parsed_fps, parsed.entries, ids, verdicts, strict=True
        ):
            if article_id is None:
                failed.add(fp)  # not queued: left unknown, so the next read tries it again
                continue
            if verdict == UNKNOWN and fp in self.memory:
                verdict = self.memory[fp].verdict  # the same bytes: the same text
            read[fp] = (fp, entry.published, id_key(article_id), verdict)
        return [
            read[fp] if fp in read else _row(fp, self.memory[fp])
            for fp in fps
            if fp in read or (fp in self.memory and fp not in failed)
        ]


def _row(fp: bytes, r: Remembered) -> Row:
    return (fp, r.published, r.key, r.verdict)
