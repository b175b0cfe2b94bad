"""``make bench``: every benchmark of issue 14 (and the older ones) in one invocation, one after another.
    .venv/bin/python -m bench [--only NAME ...] [--quick]
Each benchmark is its own module (``python -m bench.NAME`` runs it alone, with its own options) and prints
its own table of ratios against a baseline measured in the same run. This runner starts the local
Elasticsearch node once (``MEDIAWATCH_ES_URL`` when set, else ``mediawatch es start`` under
``.mediawatch/bench-es``, stopped at the end), runs each benchmark as a subprocess against it, and prints a
summary: each benchmark's exit status and wall time. ``--quick`` passes each benchmark its smaller settings
(the arguments listed in QUICK) for a check that everything runs; figures for bench/README.md come from the
full run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (module, arguments of the full run, arguments of --quick); the order is the order of bench/README.md.
BENCHES: list[tuple[str, list[str], list[str]]] = [
    ("crawl_compare", [], ["--scale", "5"]),
    ("extract_bench", [], ["--rounds", "1"]),
    ("index_bench", [], ["--docs", "5000"]),
    ("search_bench", [], ["--sizes", "20000"]),
    ("pagestate_bench", [], ["--sizes", "10000", "100000", "--discovered", "5000"]),
    ("tagging_bench", [], ["--docs", "64", "--rounds", "1"]),
    ("classify_bench", [], []),
    ("match_bench", [], ["--subscriptions", "1000", "--background", "500", "--stream", "200",
                         "--batch", "100", "--baseline-batches", "1"]),
    ("alert_latency_bench", [], ["--documents", "20", "--subscriptions", "200"]),
]


def _node(env: dict[str, str]) -> tuple[str, bool]:
    """The cluster URL the benchmarks use, and whether this runner started it."""
    if env.get("MEDIAWATCH_ES_URL"):
        return env["MEDIAWATCH_ES_URL"], False
    home = REPO / ".mediawatch" / "bench-es"
    node_env = env | {"MEDIAWATCH_ES__HOME": str(home)}
    started = subprocess.run([sys.executable, "-m", "mediawatch", "es", "start"], env=node_env, cwd=REPO,
                             capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"error: could not start the local Elasticsearch node: {started.stderr.strip()[-400:]}")
    return started.stdout.strip().splitlines()[-1], True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (module names)")
    parser.add_argument("--quick", action="store_true", help="smaller settings: a check that everything runs")
    args = parser.parse_args()
    known = [name for name, _, _ in BENCHES]
    unknown = sorted(set(args.only or ()) - set(known))
    if unknown:
        sys.exit(f"error: no benchmark named {', '.join(unknown)}; there are: {', '.join(known)}")
    env = dict(os.environ)
    url, ours = _node(env)
    env["MEDIAWATCH_ES_URL"] = url
    summary: list[tuple[str, int, float]] = []
    try:
        for name, full, quick in BENCHES:
            if args.only and name not in args.only:
                continue
            argv = [sys.executable, "-m", f"bench.{name}", *(quick if args.quick else full)]
            print(f"\n=== bench.{name}: {' '.join(argv[2:])}", flush=True)
            start = time.monotonic()
            code = subprocess.run(argv, env=env, cwd=REPO).returncode
            summary.append((name, code, time.monotonic() - start))
    finally:
        if ours:  # without MEDIAWATCH_ES_URL: with it, ``es stop`` takes the node for an external cluster
            node_env = {k: v for k, v in env.items() if k != "MEDIAWATCH_ES_URL"}
            subprocess.run([sys.executable, "-m", "mediawatch", "es", "stop"], cwd=REPO,
                           env=node_env | {"MEDIAWATCH_ES__HOME": str(REPO / ".mediawatch" / "bench-es")})
    print("\n| benchmark | exit | wall |\n|---|---|---|")
    for name, code, seconds in summary:
        print(f"| bench.{name} | {code} | {seconds / 60:.1f} min |")
    if any(code for _, code, _ in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
