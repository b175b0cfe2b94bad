"""``mediawatch crawl`` as a user runs it, with where its time goes written to a JSON file.

    python -m bench.timed_crawl OUT.json crawl --sources FILE --json --no-alerts

Runs the CLI in this process after wrapping the functions each stage runs through (nothing in the crawler
changes; wrappers cost about a microsecond a call):

* **extract**: ``extract_article`` (news) and the forum page parser with its per-post language detection,
  on the reactor thread;
* **tag**: ``tag_documents`` (both models over a batch) on the tagging thread;
* **index**: ``send_actions`` (one bulk request and its outcome) on the writer threads.

Each wrapper sums wall seconds and the calling thread's CPU seconds. A sampler thread reads every thread's
CPU time from ``/proc/self/task`` every 0.2 s and files it under the Python thread's name (native threads —
torch's OpenMP pool, the tokenizers' — under ``native``), so the tagging workers' CPU is counted where it is
spent. The rest of the reactor thread's CPU is **fetch** (Scrapy's downloading, scheduling, link and sitemap
parsing, items moving through the pipelines). ``crawl`` holds the same for the crawl alone (``crawlers.runner._crawl``,
the reactor's run, after start-up and model loading). Also written: the process's CPU (``getrusage``), its peak
RSS (``VmHWM``) and an RSS sample series.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


class Stage:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.wall = 0.0
        self.cpu = 0.0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                with self._lock:
                    self.calls += 1
                    self.wall += wall
                    self.cpu += cpu
                    self.threads.add(threading.current_thread().name)

        return timed

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "wall": self.wall, "cpu": self.cpu, "threads": sorted(self.threads)}


STAGES = {name: Stage(name) for name in ("extract", "tag", "index")}


def instrument(window: Window) -> None:
    """Wrap the stage functions where the crawler calls them; fail loudly when one is gone."""
    import crawlers.pipelines
    import crawlers.runner
    import crawlers.spiders.forum
    import crawlers.spiders.news
    import index.writer

    targets = [
        (crawlers.spiders.news, "extract_article", "extract"),
        (crawlers.spiders.forum, "parse_thread_page", "extract"),
        (crawlers.spiders.forum, "detect_language", "extract"),
        (crawlers.pipelines, "tag_documents", "tag"),
        (index.writer, "send_actions", "index"),
    ]
    for module, name, stage in targets:
        if not callable(getattr(module, name, None)):
            raise SystemExit(f"bench.timed_crawl: {module.__name__}.{name} is gone; update the bench")
        setattr(module, name, STAGES[stage].wrap(getattr(module, name)))
    if not callable(getattr(crawlers.runner, "_crawl", None)):
        raise SystemExit("bench.timed_crawl: crawlers.runner._crawl is gone; update the bench")
    crawlers.runner._crawl = window.wrap(crawlers.runner._crawl)


class Sampler(threading.Thread):
    """Per-thread CPU seconds (the last reading of each thread, by name) and RSS over time."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.cpu: dict[int, tuple[str, float]] = {}
        self.rss: list[tuple[float, float]] = []
        self.started = time.time()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        names = {t.native_id: t.name for t in threading.enumerate()}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / TICK
            name = names.get(int(tid)) or self.cpu.get(int(tid), ("native", 0.0))[0]
            self.cpu[int(tid)] = (name, seconds)
        self.rss.append((round(time.time() - self.started, 2), rss_mb("VmRSS")))

    def by_group(self, since: dict[int, tuple[str, float]] | None = None) -> dict[str, float]:
        """CPU seconds per stage group, less what each thread had used by ``since`` (a copy of ``cpu``)."""
        since = since or {}
        groups: dict[str, float] = defaultdict(float)
        for tid, (name, seconds) in self.cpu.items():
            groups[group_of(name)] += seconds - since.get(tid, (name, 0.0))[1]
        return dict(groups)


class Window:
    """The crawl itself (``crawlers.runner._crawl``: the reactor's run), after start-up and model loading."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.start: dict[str, Any] = {}
        self.end: dict[str, Any] = {}

    def mark(self) -> dict[str, Any]:
        self.sampler.sample()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"time": time.time(), "cpu": usage.ru_utime + usage.ru_stime, "threads": dict(self.sampler.cpu),
                "rss_mb": rss_mb("VmRSS"), "peak_rss_mb": rss_mb("VmHWM")}

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def window(*args: Any, **kwargs: Any) -> Any:
            self.start = self.mark()
            try:
                return function(*args, **kwargs)
            finally:
                self.end = self.mark()

        return window

    def as_dict(self) -> dict[str, Any]:
        if not self.start or not self.end:
            return {}
        return {
            "wall": self.end["time"] - self.start["time"],
            "cpu": self.end["cpu"] - self.start["cpu"],
            "thread_cpu": self.sampler.by_group(self.start["threads"]) if self.end else {},
            "rss_before_mb": self.start["rss_mb"],
            "peak_rss_before_mb": self.start["peak_rss_mb"],
        }


def group_of(thread_name: str) -> str:
    """The stage a thread's CPU belongs to, by the name its owner gave it."""
    if thread_name == "MainThread":
        return "reactor"
    for prefix, group in (("mediawatch-tagging", "tag"), ("mediawatch-infer", "tag"), ("native", "tag (native)"),
                          ("mediawatch-writer", "index"), ("mediawatch-pages", "index"), ("mediawatch-runs", "index"),
                          ("bench-sampler", "bench")):
        if thread_name.startswith(prefix):
            return group
    return "other"


def rss_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.time()
    sampler = Sampler()
    window = Window(sampler)
    instrument(window)
    sampler.start()
    code: Any = 0
    try:
        from mediawatch.cli import main as cli

        cli(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        sampler.stop.set()
        sampler.sample()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result = {
            "exit": code,
            "wall": time.time() - start,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": rss_mb("VmHWM"),
            "stages": {name: stage.as_dict() for name, stage in STAGES.items()},
            "thread_cpu": sampler.by_group(),
            "crawl": window.as_dict(),
            "rss_series": sampler.rss[:: max(1, len(sampler.rss) // 200)],
        }
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(result, handle)
    sys.exit(code)


if __name__ == "__main__":
    main()
