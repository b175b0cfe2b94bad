"""``mediawatch alerts``: keyword alert subscriptions — add, list, show, pause, resume, remove, test, log,
and ``run`` (one pass of matching, digests, spike checks and deliveries now)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from alerts.service import Stores, run_pass
from alerts.subscriptions import Filters, Spike, Subscription, check_filters, new_subscription, parse_subscription
from crawlers.sources import load_registry
from enrich.labels import searchable_sentiments, searchable_topics
from index.client import make_client, ping_or_raise
from index.mappings import ensure_indices
from index.search import SearchRequest, iter_hits
from mediawatch.cli import app, console
from mediawatch.config import Settings, get_settings
from mediawatch.errors import UserError

alerts_app = typer.Typer(help="Keyword alerts: saved queries that notify by e-mail or webhook.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

WEBHOOK_TEMPLATES = ("json", "slack", "discord", "teams", "google_chat", "mattermost")


def _stores(settings: Settings) -> Stores:
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    ensure_indices(client, settings)
    return Stores(client, settings)


def _find(stores: Stores, name: str, owner: str | None) -> Subscription:
    """The subscription called ``name`` (of ``owner`` when given); one clear line when none or several."""
    found = [parse_subscription(s) for s in stores.subscriptions.find(name=name, owner=owner)]
    if not found:
        found = [parse_subscription(s) for s in stores.subscriptions.find() if s["id"] == name]
    if not found:
        raise UserError(f"no alert named {name!r} (see mediawatch alerts list)", exit_code=2)
    if len(found) > 1:
        owners = ", ".join(sorted(s.owner for s in found))
        raise UserError(f"several alerts are named {name!r} (owners: {owners}); pass --owner", exit_code=2)
    return found[0]


@alerts_app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="A name for the alert (unique per owner)."),
    query: str = typer.Option(..., "--query", "-q", help="The search query (same syntax as mediawatch search)."),
    source: list[str] = typer.Option([], "--source", "-s", help="Only these sources (repeatable)."),
    kind: list[str] = typer.Option([], "--kind", "-k", help="news or forum (repeatable)."),
    lang: list[str] = typer.Option([], "--lang", "-l", help="Language code (repeatable)."),
    topic: list[str] = typer.Option([], "--topic", "-t", help="Topic label (repeatable)."),
    sentiment: list[str] = typer.Option([], "--sentiment", help="negative, neutral, positive (repeatable)."),
    instant: bool = typer.Option(False, "--instant", help="Notify at once (the default)."),
    hourly: bool = typer.Option(False, "--hourly", help="One digest an hour."),
    daily: str | None = typer.Option(None, "--daily", metavar="HH:MM", help="One digest a day at this local time."),
    email: list[str] = typer.Option([], "--email", help="Send to this address (repeatable)."),
    webhook: list[str] = typer.Option([], "--webhook", help="POST to this URL, signed (repeatable)."),
    template: str = typer.Option("json", "--template", help=f"Webhook body: {', '.join(WEBHOOK_TEMPLATES)}."),
    copies: bool = typer.Option(False, "--copies", help="Notify syndicated copies too (default: '+N outlets')."),
    spike: bool = typer.Option(False, "--spike", help="Also alert when today's volume spikes."),
    spike_factor: float = typer.Option(3.0, "--spike-factor", min=1.01, max=100, help="Spike: times the median day."),
    spike_min: int = typer.Option(5, "--spike-min", min=1, help="Spike: at least this many documents today."),
    spike_window: int = typer.Option(14, "--spike-window", min=3, max=90, help="Spike: days in the baseline."),
    owner: str = typer.Option("admin", "--owner", help="Who the alert belongs to (a user id)."),
    timezone: str | None = typer.Option(None, "--timezone", help="Zone of --daily and of times shown (default: "
                                        "crawl.timezone)."),
    as_json: bool = typer.Option(False, "--json", help="Print the saved alert as JSON."),
) -> None:
    """Save a query as an alert. Nothing is saved when anything is wrong (one line says what)."""
    settings = get_settings()
    if sum([instant, hourly, daily is not None]) > 1:
        raise UserError("choose one of --instant, --hourly, --daily HH:MM", exit_code=2)
    if not email and not webhook:
        raise UserError("an alert needs somewhere to go: --email ADDRESS and/or --webhook URL", exit_code=2)
    if template not in WEBHOOK_TEMPLATES:
        raise UserError(f"unknown --template {template!r}; use one of {', '.join(WEBHOOK_TEMPLATES)}", exit_code=2)
    filters = Filters(sources=source, kinds=kind, languages=[x.lower() for x in lang], topics=topic,
                      sentiments=sentiment)
    known = {s.id for s in load_registry(settings)}  # sources.yaml and the sources added in the web app
    check_filters(filters, known_sources=known, topics=searchable_topics(settings.enrich.topic_model,
                                                                          settings.enrich.topic_labels),
                  sentiments=searchable_sentiments(settings.enrich.sentiment_model))
    configs: list[dict[str, Any]] = [{"type": "email", "to": a} for a in email]
    configs += [{"type": "webhook", "url": u, "template": template} for u in webhook]
    delivery = "daily" if daily is not None else ("hourly" if hourly else "instant")
    sub = new_subscription(
        owner=owner, name=name, query=query, filters=filters, delivery=delivery, daily_at=daily,
        timezone=timezone or settings.crawl.timezone, channel_configs=configs, notify_copies=copies,
        spike=Spike(enabled=spike, factor=spike_factor, min_count=spike_min, window_days=spike_window),
    )
    stores = _stores(settings)
    if stores.subscriptions.find(name=name, owner=owner):
        raise UserError(f"{owner} already has an alert named {name!r}; choose another --name", exit_code=2)
    stores.subscriptions.create(sub.to_doc())
    if as_json:
        typer.echo(json.dumps(sub.to_doc(), ensure_ascii=False))
        return
    console.print(f"saved alert {sub.name!r} ({sub.delivery}) → {', '.join(_targets(sub))}", highlight=False)


@alerts_app.command("list")
def list_cmd(
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's alerts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The alerts, with delivery, channels, and channels that keep failing flagged."""
    stores = _stores(get_settings())
    subs = [parse_subscription(s) for s in stores.subscriptions.find(owner=owner)]
    if as_json:
        typer.echo(json.dumps([_public(s) for s in subs], ensure_ascii=False))
        return
    table = Table(title="Alerts")
    for col in ("name", "owner", "query", "delivery", "channels", "state"):
        table.add_column(col)
    for sub in subs:
        failing = sub.failing_channels
        state = "[green]active[/]" if sub.active else "[yellow]paused[/]"
        if failing:
            state += "\n[red]failing: " + escape(", ".join(failing)) + "[/]"
        delivery = sub.delivery + (f" {sub.daily_at}" if sub.daily_at else "")
        delivery += " + spike" if sub.spike.enabled else ""
        table.add_row(escape(sub.name), escape(sub.owner), escape(sub.query), delivery,
                      escape("\n".join(_targets(sub))), state)
    console.print(table)
    if not subs:
        console.print("no alerts yet: mediawatch alerts add --name NAME --query QUERY --email ADDRESS")


@alerts_app.command("show")
def show(
    name: str = typer.Argument(..., help="The alert's name (or id)."),
    owner: str | None = typer.Option(None, "--owner"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Everything about one alert, including the webhook signing secret and channel health."""
    settings = get_settings()
    stores = _stores(settings)
    sub = _find(stores, name, owner)
    if as_json:
        typer.echo(json.dumps(sub.to_doc(), ensure_ascii=False))
        return
    table = Table(show_header=False, title=f"Alert {sub.name!r}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    f = sub.filters
    filters = "; ".join(f"{k}: {', '.join(v)}" for k, v in f.model_dump().items() if v) or "-"
    rows = [("id", sub.id), ("owner", sub.owner), ("query", sub.query), ("filters", filters),
            ("delivery", sub.delivery + (f" at {sub.daily_at} ({sub.timezone})" if sub.daily_at else "")),
            ("state", "active" if sub.active else "paused"),
            ("syndicated copies", "notified" if sub.notify_copies else "mentioned as +N outlets"),
            ("spike", f"×{sub.spike.factor} the median of {sub.spike.window_days} days, at least "
                      f"{sub.spike.min_count}" if sub.spike.enabled else "off"),
            ("created", _local(sub.created, sub.timezone)), ("webhook secret", sub.secret)]
    for label, value in rows:
        table.add_row(label, escape(str(value)))
    for config in sub.channels:
        from alerts.subscriptions import channel_key

        key = channel_key(config)
        health = sub.channel_health.get(key, {})
        note = "[red]failing[/]" if health.get("failing") else "ok" if health.get("last_success") else "not used yet"
        if health.get("last_error"):
            note += f" — last error: {escape(str(health['last_error']))}"
        table.add_row("channel", f"{escape(key)}: {note}")
    console.print(table)


@alerts_app.command("pause")
def pause(name: str = typer.Argument(...), owner: str | None = typer.Option(None, "--owner")) -> None:
    """Stop matching and sending for this alert (kept, resumable)."""
    _set_active(name, owner, False)


@alerts_app.command("resume")
def resume(name: str = typer.Argument(...), owner: str | None = typer.Option(None, "--owner")) -> None:
    """Match and send again."""
    _set_active(name, owner, True)


def _set_active(name: str, owner: str | None, active: bool) -> None:
    stores = _stores(get_settings())
    sub = _find(stores, name, owner)
    stores.subscriptions.update(sub.id, {"active": active, "updated": datetime.now(UTC).isoformat()})
    console.print(f"alert {sub.name!r} {'resumed' if active else 'paused'}", highlight=False)


@alerts_app.command("remove")
def remove(
    name: str = typer.Argument(...),
    owner: str | None = typer.Option(None, "--owner"),
    keep_log: bool = typer.Option(False, "--keep-log", help="Keep its notification log."),
) -> None:
    """Delete an alert (and its notification log unless --keep-log)."""
    stores = _stores(get_settings())
    sub = _find(stores, name, owner)
    stores.subscriptions.delete(sub.id)
    removed = 0 if keep_log else stores.log.delete_for(sub.id)
    console.print(f"removed alert {sub.name!r}" + (f" and {removed} log records" if removed else ""),
                  highlight=False)


@alerts_app.command("test")
def test(
    name: str = typer.Argument(...),
    days: int = typer.Option(7, "--days", min=1, max=3650, help="Look back this many days."),
    owner: str | None = typer.Option(None, "--owner"),
    limit: int = typer.Option(200, "--limit", min=1, max=100_000),
) -> None:
    """Print, one per line with its URL, the stored documents that would have matched in the last N days."""
    settings = get_settings()
    stores = _stores(settings)
    sub = _find(stores, name, owner)
    f = sub.filters
    start = datetime.now(ZoneInfo(sub.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=days - 1)
    req = SearchRequest(query=sub.query, sources=f.sources, kinds=f.kinds, languages=f.languages, topics=f.topics,
                        sentiments=f.sentiments, date_from=start.astimezone(UTC), sort="date", size=min(limit, 500))
    count = 0
    for hit in iter_hits(stores.client, settings, req, limit):
        when = _local(hit.published, sub.timezone) if hit.published else "-"
        typer.echo(f"{when}  {hit.source}  {hit.title}  {hit.url}")
        count += 1
    typer.echo(f"{count} documents in the last {days} days", err=True)


@alerts_app.command("log")
def log_cmd(
    name: str = typer.Argument(...),
    owner: str | None = typer.Option(None, "--owner"),
    limit: int = typer.Option(30, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The alert's recent notifications: what matched, when, and what each channel did."""
    stores = _stores(get_settings())
    sub = _find(stores, name, owner)
    records = stores.log.recent(subscription_id=sub.id, size=limit)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False))
        return
    table = Table(title=f"Notifications of {sub.name!r}")
    for col in ("created", "kind", "status", "what", "channels"):
        table.add_column(col)
    for record in records:
        what = record.get("title") or ""
        if record.get("kind") == "match":
            what += f"\n[dim]{escape(record.get('url', ''))}[/]"
            if record.get("copies"):
                what += f"\n[dim]+{len(record['copies'])} outlets[/]"
        elif record.get("items"):
            what += f" ({len(record['items'])} documents)"
        channels = "\n".join(f"{key}: {state.get('status')}" + (f" ({state['error']})" if state.get("error") else "")
                             for key, state in (record.get("channels") or {}).items()) or "-"
        status = record.get("status", "?")
        colour = {"sent": "green", "failed": "red", "pending": "yellow"}.get(status, "white")
        table.add_row(_local(_parse(record["created"]), sub.timezone), record.get("kind", ""),
                      f"[{colour}]{status}[/]", what, escape(channels))
    console.print(table)


@alerts_app.command("run")
def run_cmd() -> None:
    """One pass now: match new documents, bundle due digests, check spikes, deliver what is due."""
    settings = get_settings()
    stores = _stores(settings)
    report = run_pass(stores.client, settings)
    m, d = report.matching, report.delivery
    console.print(f"matched {m.documents} new documents: {m.notifications} notifications, {m.copies} copies noted; "
                  f"{report.digests.digests} digests, {report.spikes.spikes} spikes; sent {d.sent}, "
                  f"retrying {d.retrying}, failed {d.failed}", highlight=False)
    for error in d.errors[:10]:
        console.print(f"[yellow]{escape(error)}[/]")


def _targets(sub: Subscription) -> list[str]:
    from alerts.subscriptions import channel_key

    return [channel_key(c) for c in sub.channels]


def _public(sub: Subscription) -> dict[str, Any]:
    doc = sub.to_doc()
    doc.pop("secret", None)
    doc.pop("feed_token", None)
    return doc


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
