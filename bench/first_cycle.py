"""`peacewatch run` on many loopback feeds: how many finish their first poll; how fast it stops.

    .venv/bin/python bench/first_cycle.py --feeds 1000 --items 35 --interval 60 --seconds 120

Serves ``--feeds`` RSS feeds of ``--items`` real sample items each (links made unique per feed,
so every item is a new article) from three loopback addresses, starts ``peacewatch run`` on
them with its embedded Redis, and every 10 s prints how many feeds have been fetched and the
articles stored (from /metrics). After ``--seconds`` it sends SIGTERM mid-cycle and prints how
long the process took to exit and its exit code, then how many feeds have a recorded poll
(``peacewatch status``). Traffic goes to 127.0.0.0/8 only; the run ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.feed_server import FeedServer, Gauge  # noqa: E402
from tests.helpers import free_port, rss, samples_dir  # noqa: E402


def real_items() -> list[dict[str, str]]:
    items = []
    with (samples_dir() / "items.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("title") and item.get("summary") and item.get("link"):
                items.append(item)
    return items


async def metric(http: aiohttp.ClientSession, port: int, name: str) -> str:
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return "-"
    found = re.search(rf"^peacewatch_{name} (\S+)$", text, re.M)
    return found.group(1) if found else "-"


async def main(args: argparse.Namespace) -> None:
    items = real_items()
    now = datetime.now(UTC)
    total = Gauge()
    servers = [FeedServer(f"127.0.0.{n}", shared=(total,)) for n in (1, 2, 3)]
    for server in servers:
        await server.start()
    work = Path(tempfile.mkdtemp(prefix="pw-first-cycle-"))
    lines = ["feeds:"]
    for n in range(args.feeds):
        server = servers[n % len(servers)]
        chosen = [
            {
                **items[(args.items * n + k) % len(items)],
                "link": f"{items[(args.items * n + k) % len(items)]['link']}#f{n}",
                "published": now - timedelta(minutes=5 * k),
            }
            for k in range(args.items)
        ]
        server.set_feed(f"/{n}.xml", rss(chosen, title=f"feed {n}"))
        lines.append(
            f"  - {{id: f{n}, url: '{server.url(f'/{n}.xml')}', interval: {args.interval}}}"
        )
    lines += ["rules:", "  - {id: envoys, query: 'Witkoff OR Dmitriev', channels: ['console:d']}"]
    (work / "config.yaml").write_text("\n".join(lines) + "\n")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "PEACEWATCH_DATA_DIR": str(work / "data"),
        "PEACEWATCH_HTTP_PORT": str(port),
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    env.pop("REDIS_URL", None)
    log = (work / "run.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "run", "--config", str(work / "config.yaml"),
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < args.seconds:
            await asyncio.sleep(10)
            fetched = sum(len(s.first_requests()) for s in servers)
            print(
                f"{time.monotonic() - started:5.0f} s: {fetched} feeds fetched, "
                f"{total.now} fetches now (peak {total.peak}), "
                f"articles {await metric(http, port, 'articles')}, "
                f"failing {await metric(http, port, 'feeds_failing')}",
                flush=True,
            )
    proc.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    try:
        await asyncio.wait_for(proc.wait(), 60)
        print(f"exit {proc.returncode} {time.monotonic() - stopping:.1f} s after SIGTERM")
    except TimeoutError:
        print("still running 60 s after SIGTERM; killed")
        proc.kill()
        await proc.wait()
    for server in servers:
        await server.stop()
    status = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peacewatch", "status", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await status.communicate()
    text = out.decode()
    polled = len(re.findall(r"^\s*f\d+\b.*\d{4}-\d\d-\d\dT", text, re.M))
    print(f"feeds with a recorded poll: {polled} of {args.feeds}; log in {work / 'run.log'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=35)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=120)
    asyncio.run(main(parser.parse_args()))
