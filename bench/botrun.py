"""`peacewatch run` as a subprocess for the benches: start, stop, its metrics and its resources.

The bot runs as a user runs it (``python -m peacewatch run --config FILE``, embedded Redis in
its data directory, loopback feeds allowed). :class:`Usage` reads the CPU seconds and peak
resident sets of the bot's process tree by kind: the bot itself, its parse workers (processes
of ``multiprocessing``'s spawn: the workers and their resource tracker) and its Redis server
(with the snapshot forks Redis has reaped).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import free_port  # noqa: E402

KINDS = ("bot", "parse workers", "redis")


async def start_bot(
    config: Path, work: Path, extra: dict[str, str] | None = None, traced: Path | None = None
) -> tuple[asyncio.subprocess.Process, int]:
    """``peacewatch run --config CONFIG`` with its data in ``work/data``; (process, HTTP port).
    ``traced``: run it under tracemalloc (``bench/traced_run.py``), its heap by module written
    to that file on SIGUSR1 (see :func:`heap_by_module`) and at exit."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "PEACEWATCH_DATA_DIR": str(work / "data"),
        "PEACEWATCH_HTTP_PORT": str(port),
        "PEACEWATCH_HTTP_HOST": "127.0.0.1",
        "PEACEWATCH_ALLOW_NETWORKS": "127.0.0.0/8",
        **(extra or {}),
    }
    env.pop("REDIS_URL", None)
    how = ["-m", "peacewatch"] if traced is None else [str(REPO / "bench" / "traced_run.py"),
                                                       str(traced)]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *how, "run", "--config", str(config),
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=(work / "run.log").open("wb"),
    )  # fmt: skip
    return proc, port


def _written(path: Path) -> int:
    """When ``path`` was last written (0: not yet)."""
    return path.stat().st_mtime_ns if path.exists() else 0


async def heap_by_module(proc: asyncio.subprocess.Process, traced: Path) -> str:
    """Ask a bot started with ``traced`` for its heap by module now (SIGUSR1), and read it."""
    before = _written(traced)
    proc.send_signal(signal.SIGUSR1)
    for _ in range(600):  # a snapshot of a large heap takes a while
        if _written(traced) != before:
            await asyncio.sleep(0.5)  # written whole
            return await asyncio.to_thread(traced.read_text)
        await asyncio.sleep(0.1)
    return "(no heap snapshot within 60 s)"


async def stop_bot(proc: asyncio.subprocess.Process) -> float:
    """SIGTERM, then seconds until it exited (killed after 30 s)."""
    started = time.monotonic()
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return time.monotonic() - started


@dataclass
class Sample:
    """CPU seconds (cumulative) and peak resident set (VmHWM, bytes) per kind of process."""

    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    hwm: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rss: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    peak_rss: int = 0
    """The most the whole tree held at one sampling (RSS, bytes)."""
    peak_hwm: int = 0
    """The most that the processes alive at one sampling had each held at their own peak,
    added up (bytes): at least what they held at once. A process that ended (a replaced
    worker, the child that builds the language model at a first start) counts at the
    samplings it was alive at, with its peak."""

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())

    @property
    def total_hwm(self) -> int:
        """:attr:`peak_hwm`: the processes' own peaks, added up over those alive together."""
        return self.peak_hwm

    def minus(self, before: Sample) -> dict[str, float]:
        """CPU seconds per kind since ``before``."""
        return {k: self.cpu[k] - before.cpu[k] for k in KINDS}


def _hwm_and_rss(pid: int) -> tuple[int, int]:
    hwm = rss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return hwm, rss


class Usage:
    """Samples the bot and its children (parse workers, resource tracker, Redis server); a
    child that ended keeps the figures last seen. Redis's snapshot forks are not children of
    the bot: their CPU counts once Redis reaps them; their pages are Redis's own (shared)."""

    def __init__(self, pid: int) -> None:
        self.bot = psutil.Process(pid)
        self._known: dict[int, tuple[psutil.Process, str]] = {}
        self._cpu: dict[int, float] = {}
        self._hwm: dict[int, int] = {}
        self._rss: dict[int, int] = {}
        self._peak = 0
        self._peak_hwm = 0

    @staticmethod
    def _kind(proc: psutil.Process) -> str:
        name = proc.name()
        return "redis" if "redis" in name else "parse workers"

    def sample(self) -> Sample:
        out = Sample()
        alive = 0
        try:
            times = self.bot.cpu_times()
            out.cpu["bot"] = times.user + times.system
            hwm, rss = _hwm_and_rss(self.bot.pid)
            out.hwm["bot"], out.rss["bot"] = hwm, rss
            alive += hwm
            for child in self.bot.children(recursive=False):
                if child.pid not in self._known:
                    self._known[child.pid] = (child, self._kind(child))
        except psutil.Error:
            pass
        for pid, (child, kind) in self._known.items():
            try:
                times = child.cpu_times()
                cpu = times.user + times.system
                if kind == "redis":  # its snapshot forks, once reaped
                    cpu += times.children_user + times.children_system
                self._cpu[pid] = cpu
                hwm, rss = _hwm_and_rss(pid)
                self._hwm[pid] = max(self._hwm.get(pid, 0), hwm)
                self._rss[pid] = rss
                if rss:  # alive (an ended child's status is gone or shows no memory)
                    alive += self._hwm[pid]
            except psutil.Error:
                self._rss[pid] = 0
            out.cpu[kind] += self._cpu.get(pid, 0.0)
            out.hwm[kind] += self._hwm.get(pid, 0)
            out.rss[kind] += self._rss.get(pid, 0)
        self._peak = max(self._peak, sum(out.rss.values()))
        out.peak_rss = self._peak
        self._peak_hwm = max(self._peak_hwm, alive)
        out.peak_hwm = self._peak_hwm
        return out


async def metrics(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The bot's /metrics as ``name{label=value}`` -> value (empty when it does not answer)."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def polls(values: dict[str, float]) -> dict[str, int]:
    """Polls by result (ok, not_modified, error) from /metrics."""
    return {
        k.partition("=")[2].rstrip("}"): int(v)
        for k, v in values.items()
        if k.startswith("peacewatch_polls_total{")
    }


def figure(name: str, value: str, baseline: str, target: str, met: bool) -> None:
    """The machine-readable line ``bench/report.py`` collects (no spaces inside a field)."""
    fields = {"value": value, "baseline": baseline, "target": target}
    text = " ".join(f"{k}={v.replace(' ', '')}" for k, v in fields.items())
    print(f"FIGURE name={name} {text} met={'yes' if met else 'no'}", flush=True)
