"""The ``mediawatch`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from mediawatch.errors import UserError

app = typer.Typer(
    name="mediawatch",
    help="Media and social monitoring: crawl public news and forums, search them in Elasticsearch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _register() -> None:
    # Imported here so each module can `from mediawatch.cli import app, console`.
    from mediawatch.cli import commands  # noqa: F401


def main() -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    _register()
    try:
        # Outside standalone mode click returns (not raises) the code of a `typer.Exit`.
        code = app(standalone_mode=False)
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("error: interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors come through here in standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)
