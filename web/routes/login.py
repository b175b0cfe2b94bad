"""Logging in and out: ``/login`` (form, throttled, audited), ``/logout``, and ``/`` (to search or login)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from index.users import iso, now_utc
from web.accounts import User, needs_rehash, verify_password
from web.auth import (
    SESSION_COOKIE,
    audit,
    clear_session_cookie,
    client_address,
    ctx_of,
    login_wait,
    optional_user,
    resolve_principal,
    set_session_cookie,
    start_session,
)
from web.i18n import gettext
from web.render import language_of, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site: ``//evil``, ``https://…`` become ``/search``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


@router.get("/")
def home(user: User | None = Depends(optional_user)):
    return RedirectResponse("/search" if user else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None, user: User | None = Depends(optional_user)):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = None
    if request.query_params.get("bye"):
        notice = gettext("login.logged_out", language_of(request))
    return render(request, "login.html", {"next": safe_next(next), "notice": notice, "username": ""})


@router.post("/login")
def login(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=1000),
          next: str = Form("/search", max_length=2000)):
    ctx = ctx_of(request)
    name = username.strip().lower()
    lang = language_of(request)
    target = safe_next(next)
    wait = login_wait(request, name)
    if wait > 0:
        audit(request, "login_failed", name, "denied", {"reason": "throttled", "wait_seconds": round(wait)}, actor="-")
        return render(request, "login.html", {
            "next": target, "username": username,
            "error": gettext("login.throttled", lang, minutes=max(1, math.ceil(wait / 60))),
        }, status_code=429, headers={"Retry-After": str(math.ceil(wait))})
    record = ctx.users.get(name) if name else None
    ok = verify_password(record.get("password_hash") if record else None, password)
    if not ok or record is None or not record.get("active", True):
        reason = "wrong_password" if record else "unknown_user"
        if ok and record is not None:
            reason = "disabled"
        audit(request, "login_failed", name, "failed", {"reason": reason}, actor="-", refresh=True)
        return render(request, "login.html", {"next": target, "username": username,
                                              "error": gettext("login.failed", lang)}, status_code=401)
    old = request.cookies.get(SESSION_COOKIE)
    token, session = start_session(request, name)
    fields = {"last_login": iso(now_utc())}
    if needs_rehash(record["password_hash"]):
        from web.accounts import hash_password

        fields["password_hash"] = hash_password(password)
    ctx.users.update(name, fields)
    if old:
        from index.users import secret_id

        ctx.sessions.delete(secret_id(old))
    audit(request, "login", name, "ok", {"address": client_address(request)}, actor=name)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
async def logout(request: Request):
    principal = await resolve_principal(request)
    response = RedirectResponse("/login?bye=1", status_code=303)
    if principal is not None and principal.session_id:
        from starlette.concurrency import run_in_threadpool

        def end() -> None:
            ctx_of(request).sessions.delete(principal.session_id)
            audit(request, "logout", principal.user.id)

        await run_in_threadpool(end)
    clear_session_cookie(request, response)
    return response
