"""``make demo``: the main job on embedded defaults, end to end on this machine.

Starts (or reuses) the local Elasticsearch node, serves the generated news site and forum on
127.0.0.1:8765, crawls both sources from ``sources.yaml``, and prints three example searches.
The node keeps running afterwards so ``mediawatch search …`` works straight away.
"""

from __future__ import annotations

import sys

from crawlers.runner import select_sources
from index import node
from index.client import make_client
from index.search import SearchRequest, search
from mediawatch.cli import console, err_console
from mediawatch.cli.crawl import crawl_with_progress, print_reports
from mediawatch.cli.search import print_result
from mediawatch.config import get_settings
from mediawatch.errors import UserError
from tests.site import serve

SITE_PORT = 8765
# (query, the same filters as CLI flags, as SearchRequest fields)
QUERIES = [
    ('lu lut AND "Bắc Ninh"', "", {}),
    ('"ngập lụt" OR "Từ Sơn"', "--kind forum", {"kinds": ["forum"]}),
    ("flood*", "--lang en --sort date", {"languages": ["en"], "sort": "date"}),
]


def main() -> int:
    settings = get_settings()
    url = node.ensure_started(settings, log=console.print)
    console.print(f"[bold]Elasticsearch[/] {url}")
    with serve(port=SITE_PORT) as site:
        console.print(f"[bold]Local test site[/] {site.base_url}/  (news and forum)")
        sources = select_sources(settings, [])
        outcome = crawl_with_progress(settings, sources, quiet=False)
    print_reports(outcome.reports)
    client = make_client(settings)
    for query, flags, filters in QUERIES:
        console.rule(f"mediawatch search '{query}' {flags}".strip())
        print_result(search(client, settings, SearchRequest(query=query, size=3, **filters)), query)
    console.print(
        "\nThe node keeps running. Try: [bold]. .venv/bin/activate && "
        "mediawatch search 'lu lut AND \"Bắc Ninh\"' --json[/]   (stop it with `mediawatch es stop`)"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(exc.exit_code)
