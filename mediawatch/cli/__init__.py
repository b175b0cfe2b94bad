"""The ``mediawatch`` command: one Typer app; each command group lives in its own module.

Every mistake a person makes on the command line (no command, an unknown command or option, a
missing argument, a bad value) is one line on stderr and exit status 2; ``--help`` still prints help.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.main
from rich.console import Console
from rich.markup import escape

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

PROG = "mediawatch"
USAGE_EXIT = 2


def _register() -> None:
    # Imported here so each module can `from mediawatch.cli import app, console`.
    from mediawatch.cli import commands  # noqa: F401


def fail(message: str, exit_code: int) -> None:
    """Print ``error: message`` as one line on stderr and exit."""
    err_console.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)
    sys.exit(exit_code)


def usage_message(exc: typer.TyperException, args: Sequence[str], commands: Sequence[str] = ()) -> str:
    """One line for a usage error raised by Typer's parser (``typer.TyperException``: with Typer 0.29 its
    vendored Click's ``UsageError``, ``BadParameter``, ``NoSuchOption``…), with what to do next.
    ``commands``: the top-level command names, to point at the right ``--help`` when the error has no context."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        path = ctx.command_path
    else:
        path = f"{PROG} {args[0]}" if args and args[0] in commands else PROG
    text = " ".join(exc.format_message().split()).rstrip(".")
    text = text[:1].lower() + text[1:]
    hint = _search_hint(text, args)
    return f"{text}; {hint}" if hint else f"{text}; see {path} --help"


def _search_hint(text: str, args: Sequence[str]) -> str | None:
    """For ``search``: a token starting with a single '-' that is no option was probably a query meant to
    exclude a word; several extra arguments were probably an unquoted query."""
    if not args or args[0] != "search":
        return None
    from mediawatch.cli.search import SEARCH_OPTIONS

    for token in args[1:]:
        if token == "--":
            break
        name = token.split("=", 1)[0]
        if token.startswith("-") and not token.startswith("--") and len(token) > 1 and name not in SEARCH_OPTIONS:
            example = f"{PROG} search -- {shlex.quote(token)}"
            return f"to search for a query that starts with '-', put -- before it: {example}"
    if text.startswith("got unexpected extra argument"):
        return f"put the whole query in one pair of quotes: {PROG} search 'lũ lụt AND \"Bắc Ninh\"'"
    return None


def _no_help_on_empty(command: Any) -> Any:
    """Groups answer a missing command with a usage error (one line), not a page of help."""
    if hasattr(command, "commands"):
        command.no_args_is_help = False
        for sub in command.commands.values():
            _no_help_on_empty(sub)
    return command


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    _register()
    args = list(sys.argv[1:] if argv is None else argv)
    command = _no_help_on_empty(typer.main.get_command(app))
    try:
        # Outside standalone mode Typer returns (not raises) the code of a `typer.Exit`, and raises its
        # usage errors (all `typer.TyperException` with an `exit_code`) instead of printing them.
        code = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except UserError as exc:
        fail(str(exc), exc.exit_code)
    except typer.TyperException as exc:
        fail(usage_message(exc, args, list(getattr(command, "commands", {}))), getattr(exc, "exit_code", USAGE_EXIT))
    except (typer.Abort, KeyboardInterrupt):
        fail("interrupted", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
