"""Private Atom feeds of alert subscriptions: ``GET /feeds/{id}.atom?token=…``.

A feed reader cannot log in, so the address itself is the credential: the subscription's ``feed_token`` (random,
24 bytes), compared in constant time. A missing, wrong or revoked (rotated) token, an unknown id, and a
subscription whose owner's account is disabled all answer the same 404, with nothing about the subscription in
it. The feed lists the subscription's recent matches and spike alerts from the notification log, newest first:
the document's title, its link, the time in the subscription's zone and a snippet with the matched words.
"""

from __future__ import annotations

import hmac
import xml.etree.ElementTree as ET
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import NotFoundError
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from markupsafe import escape

from alerts.subscriptions import Subscription, parse_subscription
from index.highlight import positive_patterns, snippet
from index.mappings import docs_alias
from index.query import parse
from web.auth import ctx_of
from web.context import WebContext
from web.i18n import gettext
from web.routes.alerts import ID_PATTERN, parse_instant, stores_of

router = APIRouter()

ATOM_NS = "http://www.w3.org/2005/Atom"
ENTRIES = 50
MEDIA_TYPE = "application/atom+xml; charset=utf-8"


def feed_subscription(ctx: WebContext, sub_id: str, token: str) -> Subscription:
    """The subscription whose feed ``token`` opens, or 404 (the same answer for every kind of refusal)."""
    refused = HTTPException(404, "not found")
    if not ID_PATTERN.match(sub_id) or not token:
        raise refused
    found = stores_of(ctx).subscriptions.get(sub_id)
    if found is None:
        raise refused
    sub = parse_subscription(found[0])
    if not sub.feed_token or not hmac.compare_digest(token.encode(), sub.feed_token.encode()):
        raise refused
    owner = ctx.users.get(sub.owner)
    if owner is None or not owner.get("active", True):
        raise refused
    return sub


def _documents(ctx: WebContext, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    try:
        resp = ctx.client.mget(index=docs_alias(ctx.settings), ids=ids,
                               source=["title", "text", "url", "source", "source_name", "published"])
    except NotFoundError:
        return {}
    return {d["_id"]: d["_source"] for d in resp["docs"] if d.get("found")}


def atom_feed(ctx: WebContext, sub: Subscription, self_url: str, lang: str = "vi") -> bytes:
    """The Atom document of ``sub``'s recent notifications (RFC 4287), times in the subscription's zone."""
    zone = ZoneInfo(sub.timezone)
    records = stores_of(ctx).log.recent(subscription_id=sub.id, kinds=["match", "spike"], size=ENTRIES)
    docs = _documents(ctx, [r["doc_id"] for r in records if r.get("doc_id")])
    patterns = positive_patterns(parse(sub.query))
    base = (ctx.settings.web.base_url or "").rstrip("/")

    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": lang})
    ET.SubElement(feed, "id").text = f"urn:mediawatch:subscription:{sub.id}"
    ET.SubElement(feed, "title").text = f"mediawatch: {sub.name}"
    ET.SubElement(feed, "subtitle").text = sub.query
    newest = max((t for r in records if (t := parse_instant(r.get("created")))), default=sub.updated)
    ET.SubElement(feed, "updated").text = newest.astimezone(zone).isoformat(timespec="seconds")
    ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": self_url})
    if base:
        ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": f"{base}/alerts/{sub.id}"})
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = "mediawatch"
    ET.SubElement(feed, "generator").text = "mediawatch"
    for record in records:
        created = parse_instant(record.get("created")) or sub.updated
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = f"urn:mediawatch:notification:{record['id']}"
        ET.SubElement(entry, "updated").text = created.astimezone(zone).isoformat(timespec="seconds")
        if record.get("kind") == "spike":
            spike = record.get("spike") or {}
            ET.SubElement(entry, "title").text = f"{gettext('alerts.kind.spike', lang)}: {sub.name}"
            if base:
                ET.SubElement(entry, "link", {"rel": "alternate", "href": f"{base}/alerts/{sub.id}"})
            summary = gettext("alerts.spike_summary", lang, today=spike.get("today", "?"),
                              factor=spike.get("factor", "?"), baseline=spike.get("baseline", "?"))
            ET.SubElement(entry, "summary", {"type": "text"}).text = summary
            continue
        doc = docs.get(record.get("doc_id", ""), {})
        url = record.get("url") or doc.get("url") or ""
        ET.SubElement(entry, "title").text = record.get("title") or doc.get("title") or url
        if url:
            ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html", "href": url})
        published = parse_instant(doc.get("published") or record.get("published"))
        if published:
            ET.SubElement(entry, "published").text = published.astimezone(zone).isoformat(timespec="seconds")
        source = doc.get("source_name") or record.get("source") or ""
        if source:
            entry_author = ET.SubElement(entry, "author")
            ET.SubElement(entry_author, "name").text = source
        when = (published or created).astimezone(zone).strftime("%d/%m/%Y %H:%M" if lang == "vi" else "%Y-%m-%d %H:%M")
        parts = [f"<p>{escape(source)} · {escape(when)}</p>"]
        text = snippet(doc.get("text") or "", patterns) if doc.get("text") else ""
        if text:  # index.highlight: escaped text with <mark> around the matched words; readers drop <mark>
            parts.append("<p>" + text.replace("<mark>", "<strong>").replace("</mark>", "</strong>") + "</p>")
        copies = len(record.get("copies") or [])
        if copies:
            parts.append(f"<p>{escape(gettext('alerts.more_outlets', lang, n=copies))}</p>")
        ET.SubElement(entry, "summary", {"type": "html"}).text = "".join(parts)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


@router.get("/feeds/{sub_id}.atom", include_in_schema=False)
def feed(request: Request, sub_id: str, token: str = Query("", max_length=200)):
    """The subscription's private Atom feed (see the module docstring); no session needed, only the token."""
    ctx = ctx_of(request)
    sub = feed_subscription(ctx, sub_id, token)
    owner = ctx.users.get(sub.owner) or {}
    body = atom_feed(ctx, sub, str(request.url), lang=owner.get("language") or ctx.settings.web.language)
    return Response(body, media_type=MEDIA_TYPE, headers={"Referrer-Policy": "no-referrer"})
