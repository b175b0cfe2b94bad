"""``mediawatch users add | list | passwd | disable | enable``: accounts of the web app.

``mediawatch users add NAME --admin`` creates the first administrator. Passwords are asked twice at a
terminal (never echoed), or read from the first line of standard input with ``--password-stdin`` (scripts).
Every change goes to the audit log with the actor ``cli:<system user>``.
"""

from __future__ import annotations

import getpass
import json
import sys

import typer
from rich.table import Table

from index.client import make_client, ping_or_raise
from index.users import AuditLog, SessionStore, TokenStore, UserStore, ensure_user_indices
from mediawatch.cli import app, console
from mediawatch.config import Settings, get_settings
from mediawatch.errors import UserError
from web.accounts import check_username, create_user, set_active, set_password

users_app = typer.Typer(help="Web app accounts: add, list, passwd, disable, enable.", no_args_is_help=True)
app.add_typer(users_app, name="users")


class _Stores:
    def __init__(self, settings: Settings) -> None:
        client = make_client(settings)
        ping_or_raise(client, settings.es.effective_url)
        ensure_user_indices(client, settings)
        self.users = UserStore.of(client, settings)
        self.sessions = SessionStore.of(client, settings)
        self.tokens = TokenStore.of(client, settings)
        self.audit = AuditLog.of(client, settings)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read_password(from_stdin: bool, min_length: int) -> str:
    """The new password: stdin's first line with ``--password-stdin``, else asked twice at the terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UserError("the two passwords differ; nothing changed", exit_code=2)
    else:
        raise UserError("no terminal to ask for the password: pipe it in with --password-stdin", exit_code=2)
    if len(password) < min_length:
        raise UserError(f"a password needs at least {min_length} characters (web.min_password_length)", exit_code=2)
    return password


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="Login name: 2-64 lower-case letters, digits, '.', '_' or '-'."),
    admin: bool = typer.Option(False, "--admin", help="An administrator (manages sources and users)."),
    display_name: str | None = typer.Option(None, "--display-name", help="The name shown in the app."),
    email: str | None = typer.Option(None, "--email", help="E-mail address."),
    language: str = typer.Option("vi", "--language", help="Interface language: vi or en."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an account (an analyst unless --admin)."""
    settings = get_settings()
    user_id = check_username(name)
    if language not in ("vi", "en"):
        raise UserError(f"--language {language!r}: use vi or en", exit_code=2)
    password = _read_password(password_stdin, settings.web.min_password_length)
    stores = _Stores(settings)
    create_user(stores.users, stores.audit, name=user_id, password=password, role="admin" if admin else "analyst",
                min_length=settings.web.min_password_length, actor=_actor(), display_name=display_name, email=email,
                language=language)
    console.print(f"created {'administrator' if admin else 'analyst'} {user_id}")


@users_app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Every account: name, role, active, last login."""
    stores = _Stores(get_settings())
    users = [{k: u.get(k) for k in ("id", "display_name", "email", "role", "active", "language", "created",
                                     "last_login")} for u in stores.users.all()]
    if as_json:
        typer.echo(json.dumps(users, ensure_ascii=False))
        return
    table = Table(title=f"{len(users)} user(s)")
    for column in ("name", "display name", "role", "active", "last login"):
        table.add_column(column)
    for u in users:
        active = "yes" if u["active"] else "no"
        table.add_row(u["id"], u["display_name"] or "", u["role"], active, u["last_login"] or "-")
    console.print(table)


@users_app.command("passwd")
def passwd(
    name: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password (the account's sessions end)."""
    settings = get_settings()
    user_id = check_username(name)
    stores = _Stores(settings)
    if stores.users.get(user_id) is None:
        raise UserError(f"no user named {user_id!r} (see mediawatch users list)")
    password = _read_password(password_stdin, settings.web.min_password_length)
    set_password(stores.users, stores.sessions, stores.audit, user_id=user_id, password=password,
                 min_length=settings.web.min_password_length, actor=_actor())
    console.print(f"password of {user_id} changed; its sessions have ended")


@users_app.command("disable")
def disable(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable an account: it cannot log in, its sessions end and its API tokens are revoked."""
    stores = _Stores(get_settings())
    set_active(stores.users, stores.sessions, stores.tokens, stores.audit, user_id=check_username(name), active=False,
               actor=_actor())
    console.print(f"{name} disabled")


@users_app.command("enable")
def enable(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Enable a disabled account again (its old API tokens stay revoked)."""
    stores = _Stores(get_settings())
    set_active(stores.users, stores.sessions, stores.tokens, stores.audit, user_id=check_username(name), active=True,
               actor=_actor())
    console.print(f"{name} enabled")
