"""``make demo``: the main job on embedded defaults, end to end on this machine.

Starts (or reuses) the local Elasticsearch node, serves the generated news site and forum on
127.0.0.1:8765, saves an alert on the flood coverage, crawls both sources from ``sources.yaml``, shows
the e-mail the alert produced (caught by a local SMTP sink the demo starts) and three example searches.
The node keeps running afterwards so ``mediawatch search …`` works straight away. Last, it creates the demo
administrator ``demo`` (or gives it a new password), saves a weekly report for it, and prints the command that
starts the web app with that login and password.
"""

from __future__ import annotations

import sys

from crawlers.runner import select_sources
from index import node
from index.client import make_client
from index.search import SearchRequest, search
from mediawatch.cli import console, err_console
from mediawatch.cli.crawl import crawl_with_progress, print_reports, run_alerts
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


ALERT_NAME = "Lũ lụt (demo)"
ALERT_QUERY = '"lũ lụt" OR "ngập lụt"'
ALERT_TO = "demo@mediawatch.local"


class SmtpSink:
    """A local SMTP server (aiosmtpd on loopback) that keeps the messages it receives."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.messages: list = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        import email
        import email.policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def demo_alert(settings) -> None:
    """The demo's alert on the flood coverage (kept between runs: it reports coverage first seen after it)."""
    from alerts.service import Stores
    from alerts.subscriptions import new_subscription
    from index.mappings import ensure_indices

    client = make_client(settings)
    ensure_indices(client, settings)
    stores = Stores(client, settings)
    if not stores.subscriptions.find(name=ALERT_NAME, owner="admin"):
        sub = new_subscription(owner="admin", name=ALERT_NAME, query=ALERT_QUERY, timezone=settings.crawl.timezone,
                               channel_configs=[{"type": "email", "to": ALERT_TO}])
        stores.subscriptions.create(sub.to_doc())
        console.print(f"[bold]Alert saved[/] {ALERT_NAME!r}: {ALERT_QUERY} → {ALERT_TO} (instant)")


DEMO_USER = "demo"
DEMO_REPORT = "Tình hình mưa lũ (demo)"


def demo_admin(settings) -> str:
    """Create the demo administrator, or give it a fresh password when it exists (through ``web.accounts``, as
    ``mediawatch users add`` does); returns the password. Also saves a weekly report for it on the flood coverage."""
    import secrets

    from index.reports import ReportStore, ensure_report_index
    from index.users import AuditLog, SessionStore, UserStore, ensure_user_indices, iso, now_utc
    from web.accounts import create_user, set_password

    client = make_client(settings)
    ensure_user_indices(client, settings)
    users, sessions = UserStore.of(client, settings), SessionStore.of(client, settings)
    audit_log = AuditLog.of(client, settings)
    password = secrets.token_urlsafe(12)
    min_length = settings.web.min_password_length
    if users.get(DEMO_USER) is None:
        create_user(users, audit_log, name=DEMO_USER, password=password, role="admin", min_length=min_length,
                    actor="demo", display_name="Quản trị viên (demo)")
    else:
        users.update(DEMO_USER, {"role": "admin", "active": True})
        set_password(users, sessions, audit_log, user_id=DEMO_USER, password=password, min_length=min_length,
                     actor="demo")
    ensure_report_index(client, settings)
    reports = ReportStore.of(client, settings)
    if not any(r.get("name") == DEMO_REPORT for r in reports.for_owner(DEMO_USER)):
        now = iso(now_utc())
        record = {"id": secrets.token_hex(8), "owner": DEMO_USER, "name": DEMO_REPORT, "period": "weekly",
                  "searches": [{"label": "Mưa lũ, ngập lụt", "query": ALERT_QUERY, "filters": {}},
                               {"label": "Diễn đàn địa phương", "query": "", "filters": {"kinds": ["forum"]}}],
                  "send_at": None, "recipients": [], "timezone": settings.crawl.timezone, "created": now,
                  "updated": now, "last_sent": None}
        reports.create(record["id"], record)
    return password


def show_mail(sink: SmtpSink) -> None:
    console.rule(f"E-mail caught by the local SMTP sink ({len(sink.messages)} message(s))")
    if not sink.messages:
        console.print("No new flood coverage since the alert was created (the site was crawled before): see "
                      f"`mediawatch alerts log {ALERT_NAME!r}`.")
        return
    first = sink.messages[0]
    from rich.markup import escape

    console.print(f"[bold]From:[/] {escape(str(first['From']))}\n[bold]To:[/] {escape(str(first['To']))}\n"
                  f"[bold]Subject:[/] {escape(str(first['Subject']))}", highlight=False)
    body = first.get_body(preferencelist=("plain",))
    lines = (body.get_content() if body is not None else "").splitlines()
    console.print("\n".join(lines[:30]) + ("\n…" if len(lines) > 30 else ""), highlight=False, markup=False)
    if len(sink.messages) > 1:
        console.print(f"(and {len(sink.messages) - 1} more, one per matching story)")


def main() -> int:
    settings = get_settings()
    url = node.ensure_started(settings, log=console.print)
    console.print(f"[bold]Elasticsearch[/] {url}")
    with serve(port=SITE_PORT) as site, SmtpSink() as sink:
        settings = settings.model_copy(update={
            "alerts": settings.alerts.model_copy(update={
                "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_starttls": False, "smtp_ssl": False,
                "smtp_username": None}),
            # the local test site is on loopback, which the SSRF guard refuses unless allowed
            "crawl": settings.crawl.model_copy(update={"allow_private_hosts": ["127.0.0.1"]}),
        })
        console.print(f"[bold]Local test site[/] {site.base_url}/  (news and forum)")
        demo_alert(settings)
        sources = select_sources(settings, [])
        outcome = crawl_with_progress(settings, sources, quiet=False)
        print_reports(outcome.reports)
        run_alerts(settings, quiet=False)
        show_mail(sink)
    client = make_client(settings)
    for query, flags, filters in QUERIES:
        console.rule(f"mediawatch search '{query}' {flags}".strip())
        print_result(search(client, settings, SearchRequest(query=query, size=3, **filters)), query)
    console.print(
        "\nThe node keeps running. Try: [bold]. .venv/bin/activate && "
        "mediawatch search 'lu lut AND \"Bắc Ninh\"' --json[/]   (stop it with `mediawatch es stop`)"
    )
    password = demo_admin(settings)
    console.rule("The web app")
    console.print("Start it with:\n\n    [bold]. .venv/bin/activate && mediawatch serve[/]\n\n"
                  f"then open http://localhost:8000/ and log in as [bold]{DEMO_USER}[/] with the password "
                  f"[bold]{password}[/] (an administrator; a new password on every `make demo`). "
                  f"The report {DEMO_REPORT!r} is under Báo cáo.", highlight=False)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(exc.exit_code)
