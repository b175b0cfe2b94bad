"""python -m tests.site serve --port 8765 | sources --base URL | catalog --base URL"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import UTC, datetime

from . import build_site, sources_yaml, start_server


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    if value == "now":
        return datetime.now(UTC)
    return datetime.fromisoformat(value)


def _json_default(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if isoformat else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.site", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="serve the site until Ctrl-C / SIGTERM")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=8765)
    serve_p.add_argument("--now", help='ISO datetime the content is relative to, or "now" (default: fixed)')
    src_p = sub.add_parser("sources", help="print sources.yaml for a base URL")
    src_p.add_argument("--base", default="http://127.0.0.1:8765")
    cat_p = sub.add_parser("catalog", help="print the catalog as JSON")
    cat_p.add_argument("--base", default="http://127.0.0.1:8765")
    cat_p.add_argument("--now")
    args = parser.parse_args(argv)

    if args.command == "sources":
        sys.stdout.write(sources_yaml(args.base))
        return 0
    if args.command == "catalog":
        catalog = build_site(args.base, _now(args.now)).catalog
        json.dump(catalog.to_dict(), sys.stdout, ensure_ascii=False, indent=2, default=_json_default)
        sys.stdout.write("\n")
        return 0

    try:
        server = start_server(args.host, args.port, _now(args.now))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(server.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
