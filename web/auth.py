"""Who is asking, may they, and the record of what they did.

* **Sessions**: the cookie holds a random token; only its sha256 is stored (``index.users.SessionStore``). The
  cookie is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when the app is reached over TLS (the request's own
  scheme, ``web.base_url`` starting with https, or ``X-Forwarded-Proto: https`` — believed only with
  ``web.trusted_proxy``).
* **API tokens**: ``Authorization: Bearer mw_…``; stored as sha256 too. A request with a bearer token is judged
  by the token alone (a cookie beside it is ignored), so it needs no CSRF token.
* **CSRF**: every unsafe method (POST, PUT, PATCH, DELETE) from a cookie session must carry the session's token,
  as the form field ``csrf`` or the header ``X-CSRF-Token`` (:func:`csrf_guard`, installed for every route).
  Anonymous forms (the login form) use a double-submit cookie.
* **Dependencies for routes**: :func:`current_user`, :func:`optional_user`, :func:`require_admin`, and
  :func:`owned_by` for records with an owner (someone else's record is 404, as if it did not exist).
* **Audit**: :func:`audit` records an action with the actor and the client address.
* **Login throttling**: :func:`login_wait` counts recent failures (in the audit log, so it holds across
  restarts and several app processes) per account and per client address.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from index.users import iso, now_utc, secret_id
from web.accounts import User
from web.context import WebContext

log = logging.getLogger("mediawatch.web")

SESSION_COOKIE = "mw_session"
ANON_CSRF_COOKIE = "mw_csrf"
LANG_COOKIE = "mw_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TOKEN_PREFIX = "mw_"
_TOUCH_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user, and how they proved it (``session`` cookie or API ``token``)."""

    user: User
    via: str
    session_id: str | None = None
    csrf: str | None = None
    token_id: str | None = None


class LoginRequired(HTTPException):
    """401: pages redirect to the login form, the API answers JSON."""

    def __init__(self, detail: str = "login required: log in, or send Authorization: Bearer <token>") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def client_address(request: Request) -> str:
    """The caller's address: the last ``X-Forwarded-For`` hop when behind a trusted proxy, else the peer."""
    settings = ctx_of(request).settings
    if settings.web.trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return request.client.host if request.client else "-"


def is_secure(request: Request) -> bool:
    """Served over TLS: then cookies are ``Secure``."""
    settings = ctx_of(request).settings
    if request.url.scheme == "https" or (settings.web.base_url or "").startswith("https://"):
        return True
    if settings.web.trusted_proxy:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- resolving the caller ---------------------------------------------------------------------------------------

def _from_token(ctx: WebContext, token: str) -> Principal | None:
    record = ctx.tokens.get(secret_id(token))
    if record is None or record.get("revoked"):
        return None
    user = ctx.users.get(record["user"])
    if user is None or not user.get("active", True):
        return None
    now = now_utc()
    last = record.get("last_used")
    if not last or now - _parse(last) > timedelta(minutes=1):
        ctx.tokens.update(record["id"], {"last_used": iso(now)}, refresh=False)
    return Principal(User.from_record(user, ctx.settings.web.language), "token", token_id=record["id"])


def _from_session(ctx: WebContext, token: str) -> Principal | None:
    record = ctx.sessions.get(secret_id(token))
    if record is None:
        return None
    now = now_utc()
    if _parse(record["expires"]) <= now:
        ctx.sessions.delete(record["id"])
        return None
    user = ctx.users.get(record["user"])
    if user is None or not user.get("active", True):
        return None
    if now - _parse(record.get("last_seen") or record["created"]) > _TOUCH_AFTER:
        ctx.sessions.update(record["id"], {"last_seen": iso(now)}, refresh=False)
    return Principal(User.from_record(user, ctx.settings.web.language), "session", session_id=record["id"],
                     csrf=record["csrf"])


def _parse(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value)


def _resolve_sync(ctx: WebContext, authorization: str | None, cookie: str | None) -> Principal | None:
    ctx.ready()
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise LoginRequired("the Authorization header must be 'Bearer <token>'")
        principal = _from_token(ctx, token.strip())
        if principal is None:
            raise LoginRequired("this API token is unknown or revoked")
        return principal
    if cookie:
        return _from_session(ctx, cookie)
    return None


async def resolve_principal(request: Request) -> Principal | None:
    """The caller (cached for the request): the bearer token when an Authorization header is sent (a bad one is
    401), else the session cookie, else None."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await run_in_threadpool(
            _resolve_sync, ctx_of(request), request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE))
    return request.state.principal


async def optional_user(request: Request) -> User | None:
    """Dependency: the signed-in user or None."""
    principal = await resolve_principal(request)
    return principal.user if principal else None


async def current_user(request: Request) -> User:
    """Dependency: the signed-in user; 401 otherwise (pages: a redirect to the login form)."""
    principal = await resolve_principal(request)
    if principal is None:
        raise LoginRequired()
    return principal.user


async def require_admin(user: User = Depends(current_user)) -> User:
    """Dependency: the signed-in user when an administrator; 403 otherwise."""
    if not user.is_admin:
        raise HTTPException(403, "administrators only")
    return user


def owned_by(user: User, record: dict[str, Any] | None, *, field: str = "owner", admin_may: bool = False
             ) -> dict[str, Any]:
    """``record`` when ``user`` owns it (``record[field] == user.id``; with ``admin_may``, or is an admin); else
    404, exactly as for a record that does not exist, so ids of other people's records reveal nothing."""
    if record is None or not (record.get(field) == user.id or (admin_may and user.is_admin)):
        raise HTTPException(404, "not found")
    return record


def csrf_token(request: Request) -> str:
    """The token forms must carry: the session's, or (anonymous) the double-submit cookie's value, which the
    response sets when missing (see ``web.app``)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and principal.csrf:
        return principal.csrf
    token = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if not token:
        token = request.state.new_anon_csrf = new_secret()
    return token


async def csrf_guard(request: Request) -> None:
    """Global dependency: an unsafe method without the right CSRF token is refused with 403. Bearer-token calls
    are exempt (browsers never attach that header on their own)."""
    if request.method in SAFE_METHODS:
        return
    principal = await resolve_principal(request)
    if principal is not None and principal.via == "token":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = principal.csrf if principal is not None else request.cookies.get(ANON_CSRF_COOKIE)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


# --- sessions -------------------------------------------------------------------------------------------------

def start_session(request: Request, user_id: str) -> tuple[str, dict[str, Any]]:
    """A new session for ``user_id`` (a fresh token: no fixation); returns (cookie token, record)."""
    ctx = ctx_of(request)
    token = new_secret()
    now = now_utc()
    record = {"id": secret_id(token), "user": user_id, "csrf": new_secret(), "created": iso(now),
              "expires": iso(now + timedelta(hours=ctx.settings.web.session_hours)), "last_seen": iso(now),
              "ip": client_address(request), "user_agent": request.headers.get("user-agent", "")[:300]}
    ctx.sessions.create(record["id"], record)
    return token, record


def set_session_cookie(request: Request, response: Any, token: str) -> None:
    hours = ctx_of(request).settings.web.session_hours
    response.set_cookie(SESSION_COOKIE, token, max_age=int(hours * 3600), path="/", httponly=True,
                        samesite="lax", secure=is_secure(request))


def clear_session_cookie(request: Request, response: Any) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request))


# --- throttling -----------------------------------------------------------------------------------------------

def login_wait(request: Request, username: str) -> float:
    """Seconds until a login for ``username`` from this client may be tried again (0: now). Each limit counts
    failed logins in the last ``web.login_window_minutes``: past the limit, the wait is until the oldest of those
    leaves the window."""
    ctx = ctx_of(request)
    web = ctx.settings.web
    window = timedelta(minutes=web.login_window_minutes)
    now = now_utc()
    since = now - window
    wait = 0.0
    user = ctx.users.get(username)
    last_login = user.get("last_login") if user else None
    account_since = max(since, _parse(last_login)) if last_login else since
    for field, value, limit, start in (("target", username, web.login_max_failures, account_since),
                                       ("ip", client_address(request), web.login_max_failures_per_address, since)):
        times = ctx.audit_log.recent_failures(field=field, value=value, since=start, limit=limit)
        if len(times) >= limit:
            wait = max(wait, (times[-1] + window - now).total_seconds())
    return max(wait, 0.0)


# --- audit ----------------------------------------------------------------------------------------------------

def audit(request: Request, action: str, target: str = "", outcome: str = "ok", details: dict[str, Any] | None = None,
          *, actor: str | None = None, refresh: bool = False) -> None:
    """Record ``action`` on ``target`` by the caller (or ``actor``) from their address. ``outcome``: ok | denied
    | failed. Blocking (an Elasticsearch write): call it from a sync handler or through ``run_in_threadpool``."""
    principal: Principal | None = getattr(request.state, "principal", None)
    who = actor or (principal.user.id if principal else "-")
    extra = dict(details or {})
    if principal is not None and principal.via == "token":
        extra.setdefault("via", "api_token")
    ctx_of(request).audit_log.record(actor=who, action=action, target=target, outcome=outcome,
                                     ip=client_address(request), details=extra, refresh=refresh)
