"""``mediawatch enrich corrections``: export people's tag corrections as labeled JSONL for ``mediawatch enrich train``.

One line per corrected document (its latest correction): ``{"id", "title", "text", "<task>"}``, the format
``enrich.data.read_examples`` reads. Train on it together with the existing data::

    mediawatch enrich corrections --task topic --out corrections-topic.jsonl
    mediawatch enrich train --data corrections-topic.jsonl --data data/vntc-topic.jsonl.xz --out models/topic-v2

Every export goes to the audit log (``corrections.export``, actor ``cli:<system user>``).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from index.client import make_client, ping_or_raise
from index.corrections import TASKS, export_rows
from index.users import AuditLog, ensure_user_indices
from mediawatch.cli import console
from mediawatch.cli.enrich import enrich_app
from mediawatch.config import get_settings
from mediawatch.errors import UserError


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@enrich_app.command("corrections")
def corrections_cmd(
    task: str = typer.Option(..., "--task", help="topic or sentiment: which corrected label to export."),
    out: Path = typer.Option(..., "--out", "-o", help="The JSONL file to write ('-' for standard output)."),
) -> None:
    """Export corrected topic or sentiment labels as JSONL that `mediawatch enrich train --data` reads."""
    if task not in TASKS:
        raise typer.BadParameter("must be 'topic' or 'sentiment'", param_hint="--task")
    settings = get_settings()
    client = make_client(settings)
    ping_or_raise(client, settings.es.effective_url)
    rows = list(export_rows(client, settings, task))
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if str(out) == "-":
        typer.echo(text, nl=False)
    else:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {out}: {exc.strerror or exc}", exit_code=2) from None
    ensure_user_indices(client, settings)
    AuditLog.of(client, settings).record(actor=_actor(), action="corrections.export", target=task,
                                         details={"task": task, "rows": len(rows), "out": str(out), "via": "cli"})
    if str(out) != "-":
        console.print(f"wrote {len(rows)} corrected {task} labels to {out}", highlight=False)
