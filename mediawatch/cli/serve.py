"""``mediawatch serve``: the staff web app on uvicorn (loopback by default).

Also registers ``mediawatch users`` (imported below), so the command list names one module for the web app.
"""

from __future__ import annotations

import typer

from mediawatch.cli import app, console
from mediawatch.cli import users as _users  # noqa: F401  (registers `mediawatch users`)
from mediawatch.config import get_settings


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Start the web app: search, accounts, audit log and the JSON API (/api, /openapi.json)."""
    import uvicorn

    from web.app import create_app, server_config

    settings = get_settings()
    application = create_app(settings)
    ctx = application.state.ctx
    try:
        ctx.ready()
        if not ctx.users.all():
            console.print("[yellow]no accounts yet:[/] create the first administrator with "
                          "[bold]mediawatch users add NAME --admin[/]")
    except Exception as exc:  # the app still starts and shows a clear page until the cluster is back
        console.print(f"[yellow]warning:[/] {' '.join(str(exc).split())}")
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    console.print(f"mediawatch web app on http://{shown}:{port}/ (Ctrl-C stops it)")
    uvicorn.Server(server_config(application, host, port)).run()
