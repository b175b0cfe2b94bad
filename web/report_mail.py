"""Reports by e-mail: the message (a short HTML + text summary, the PDF attached) and the scheduled sending.

A report with ``send_at`` and ``recipients`` is due at ``send_at`` local time (its ``timezone``) every day
(daily: the day before) or every Monday (weekly: the ISO week before). :func:`send_due_reports` runs on every
scheduler tick (``mediawatch.scheduler.Scheduler._alerts``).

**Once per period.** The latest slot at or before *now* is sent when ``last_sent`` is before it: the sender
first moves ``last_sent`` to *now* with a compare-and-set write (``if_seq_no``/``if_primary_term``,
:meth:`index.reports.ReportStore.claim_send`), so of several schedulers exactly one sends; when the SMTP server
refuses or is away, the claim is undone (compare-and-set again) and a later tick tries again after
:data:`RETRY_AFTER`. A slot missed while no scheduler ran is sent once when one starts (only the latest slot,
never one per missed day), and never a slot from before the report was created.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from elasticsearch import Elasticsearch

from alerts.channels.base import ChannelError
from alerts.channels.email import EmailChannel, parse_address
from index.reports import ReportStore
from mediawatch.config import Settings
from web.i18n import gettext, register
from web.report import Period, build_view, parse_period, print_html, zone_of

log = logging.getLogger("mediawatch.reports")
RETRY_AFTER = timedelta(minutes=5)
_retry_at: dict[str, datetime] = {}
_retry_lock = threading.Lock()

register({
    "report.mail.subject": {"vi": "[mediawatch] Báo cáo tình hình dư luận {period}: {name}",
                            "en": "[mediawatch] Situation report {period}: {name}"},
    "report.mail.attached": {"vi": "Báo cáo đầy đủ ở tệp PDF đính kèm.", "en": "The full report is attached as PDF."},
    "report.mail.no_pdf": {"vi": "Không tạo được tệp PDF lần này; xem báo cáo đầy đủ trên mediawatch.",
                           "en": "The PDF could not be made this time; read the full report in mediawatch."},
    "report.mail.open": {"vi": "Mở báo cáo trong mediawatch", "en": "Open the report in mediawatch"},
    "report.mail.why": {"vi": "Bạn nhận thư này vì có tên trong danh sách nhận báo cáo “{name}”.",
                        "en": "You receive this because you are on the recipients of the report “{name}”."},
})


def slug(text: str) -> str:
    """ASCII file-name part: ``Lũ lụt Bắc Ninh`` -> ``lu-lut-bac-ninh``."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60] or "bao-cao"


def pdf_filename(record: dict[str, Any], period: Period) -> str:
    return f"bao-cao-{slug(record.get('name') or '')}-{period.key}.pdf"


def due_slot(record: dict[str, Any], now: datetime, settings: Settings) -> tuple[datetime, str] | None:
    """The latest send slot at or before ``now`` and the key of the period it sends; None when the report is not
    scheduled, or that slot came before the report was created."""
    send_at, recipients = record.get("send_at"), record.get("recipients") or []
    if not send_at or not recipients:
        return None
    try:
        hour, minute = (int(part) for part in str(send_at).split(":"))
        clock = time(hour, minute)
    except ValueError:
        return None
    zone = zone_of(record.get("timezone"), settings)
    local = now.astimezone(zone)
    if record.get("period") == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        slot = datetime.combine(monday, clock, zone)
        if slot > local:
            slot = datetime.combine(monday - timedelta(days=7), clock, zone)
        key = (slot.date() - timedelta(days=7)).isocalendar()
        period = f"{key.year}-W{key.week:02d}"
    else:
        slot = datetime.combine(local.date(), clock, zone)
        if slot > local:
            slot = datetime.combine(local.date() - timedelta(days=1), clock, zone)
        period = (slot.date() - timedelta(days=1)).isoformat()
    created = record.get("created")
    if created:
        made = datetime.fromisoformat(created)
        if slot < (made if made.tzinfo else made.replace(tzinfo=UTC)):
            return None
    return slot.astimezone(UTC), period


def report_link(settings: Settings, record: dict[str, Any], period: Period) -> str | None:
    base = settings.web.base_url or settings.alerts.base_url
    return f"{base.rstrip('/')}/reports/{record['id']}?period={period.key}" if base else None


def compose(settings: Settings, record: dict[str, Any], view: dict[str, Any], pdf: bytes | None,
            lang: str = "vi", now: datetime | None = None) -> EmailMessage:
    """The report's e-mail: subject, a short summary (text and HTML), the PDF attached when there is one."""
    from web.render import templates

    period: Period = view["period"]
    recipients = list(record.get("recipients") or [])
    mail = EmailMessage()
    mail["Subject"] = " ".join(gettext("report.mail.subject", lang, period=view["period_label"],
                                       name=record.get("name") or "").split())
    mail["From"] = settings.alerts.mail_from
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    domain = parse_address(settings.alerts.mail_from)[1].split("@")[1]
    mail["Message-ID"] = make_msgid(idstring=f"report-{record['id']}-{period.key}", domain=domain)
    mail["X-Mediawatch-Report-Id"] = str(record["id"])
    mail["X-Mediawatch-Report-Period"] = period.key
    mail["Auto-Submitted"] = "auto-generated"
    link = report_link(settings, record, period)
    t = lambda key, **params: gettext(key, lang, **params)  # noqa: E731
    n = view["n"]
    lines = [view["name"], view["period_label"], ""]
    lines += view["overview"] + [""]
    lines += [f"- {row['label']}: {n(row['current'])} ({row['change']})" for row in view["headline"]]
    lines += ["", view["tone_text"], ""]
    lines.append(t("report.mail.attached") if pdf else t("report.mail.no_pdf"))
    if link:
        lines.append(f"{t('report.mail.open')}: {link}")
    lines += ["", t("report.mail.why", name=record.get("name") or "")]
    mail.set_content("\n".join(lines) + "\n", subtype="plain", charset="utf-8", cte="quoted-printable")
    html = templates.env.get_template("report_email.html").render(view=view, t=t, link=link, has_pdf=bool(pdf),
                                                                  record=record, lang=lang)
    mail.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if pdf:
        mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_filename(record, period))
    return mail


def send_report(client: Elasticsearch, settings: Settings, record: dict[str, Any], period: Period,
                now: datetime | None = None, lang: str = "vi") -> None:
    """Build ``record``'s report for ``period`` and mail it to its recipients now; :class:`ChannelError` when the
    SMTP server does not take it. A PDF that cannot be printed is logged and the summary goes without it."""
    from web.reportpdf import render_pdf

    recipients = [parse_address(r)[1] for r in record.get("recipients") or []]
    if not recipients:
        raise ChannelError(f"report {record.get('id')} has no recipients", retryable=False)
    view = build_view(client, settings, record, period, lang, now=now)
    pdf: bytes | None
    try:
        pdf = render_pdf(print_html(view), chromium=settings.web.chromium)
    except Exception as exc:  # noqa: BLE001 - the summary still goes out; the log says why there is no PDF
        log.warning("report %s: PDF not made: %s", record.get("id"), exc)
        pdf = None
    mail = compose(settings, record, view, pdf, lang, now)
    channel = EmailChannel.from_config({"type": "email", "to": recipients[0]}, settings)
    channel.deliver(mail, recipients)


def send_due_reports(client: Elasticsearch, settings: Settings, now: datetime | None = None) -> list[str]:
    """Send every scheduled report whose slot has come and whose period was not sent yet (once, see the module
    docstring). Returns the ids sent; failures are logged and retried on a later tick."""
    now = now or datetime.now(UTC)
    store = ReportStore.of(client, settings)
    sent = []
    for _, record in store.find({"exists": {"field": "send_at"}}):
        due = due_slot(record, now, settings)
        if due is None:
            continue
        slot, key = due
        last = record.get("last_sent")
        if last and datetime.fromisoformat(last) >= slot:
            continue
        with _retry_lock:
            if _retry_at.get(record["id"], now) > now:
                continue
        claim = store.claim_send(record["id"], slot, now)
        if claim is None:
            continue
        current, previous = claim
        try:
            period = parse_period(current.get("period") or "daily", key, zone_of(current.get("timezone"), settings),
                                  now)
            send_report(client, settings, current, period, now)
        except Exception as exc:  # noqa: BLE001 - one report's failure never stops the others
            store.release_send(record["id"], now, previous)
            with _retry_lock:
                _retry_at[record["id"]] = now + RETRY_AFTER
            log.warning("report %s (%s) not sent, will retry: %s", record["id"], key, exc)
            continue
        with _retry_lock:
            _retry_at.pop(record["id"], None)
        log.info("report %s (%s) sent to %d recipient(s)", record["id"], key, len(current.get("recipients") or []))
        sent.append(record["id"])
    return sent
