"""Build the background token frequencies of story clustering from daily feed exports.

Reads every entry (title and description) of the daily exports under
``samples/feeds-2026-01/YYYY/MM/DD/*.json`` - whole feeds of general news, most of it unrelated
to the peace talks, which is what a background must be - reduces each to the tokens that
:func:`peacewatch.stories.features.features` gives (with the built-in entity dictionary), and
writes their document frequencies to ``peacewatch/stories/data/idf.json``. Tokens seen in
fewer than ``--min-df`` entries are left out: the clustering treats an unlisted token as rare.

    python scripts/build_idf.py [--samples ../shared/samples] [--min-df 2]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peacewatch.app import entity_names  # noqa: E402
from peacewatch.models import Article  # noqa: E402
from peacewatch.stories.features import entity_engine, features  # noqa: E402

OUT = ROOT / "peacewatch" / "stories" / "data" / "idf.json"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def plain(text: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--min-df", type=int, default=2)
    args = parser.parse_args()

    engine = entity_engine(entity_names())
    frequency: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for path in sorted((args.samples / "feeds-2026-01").glob("*/*/*/*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            title = str(entry.get("title") or "")
            description = plain(str(entry.get("description") or ""))
            key = (title, description[:200])
            if key in seen or not (title or description):
                continue  # a feed polled on several days repeats its entries
            seen.add(key)
            article = Article("bg", title, "", _EPOCH, "", summary=description)
            frequency.update(features(article, engine).tokens)
    kept = {t: n for t, n in sorted(frequency.items()) if n >= args.min_df}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"documents": len(seen), "df": kept}, ensure_ascii=False, separators=(",", ":"))
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(seen)} documents, {len(kept)} of {len(frequency)} tokens -> {OUT}")


if __name__ == "__main__":
    main()
