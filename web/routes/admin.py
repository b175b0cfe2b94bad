"""Administrators' pages: the audit log (``/admin/audit``, ``/api/audit``) and users (``/admin/users``,
``/api/users``). Every route here requires the admin role (403 otherwise, pages and API alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from index.search import BadFilter, format_instant, parse_when
from web.accounts import AccountError, User, create_user, set_active
from web.auth import client_address, ctx_of, require_admin
from web.i18n import gettext
from web.render import NavItem, language_of, render

router = APIRouter()
NAV = [NavItem("nav.users", "/admin/users", 60, admin=True), NavItem("nav.audit", "/admin/audit", 70, admin=True)]
AUDIT_PAGE_SIZE = 50
OUTCOMES = ("ok", "denied", "failed")


class AuditEntry(BaseModel):
    time: str
    actor: str
    action: str
    target: str | None = None
    outcome: str | None = None
    ip: str | None = None
    details: dict[str, Any] = {}


class AuditOut(BaseModel):
    total: int
    page: int
    size: int
    entries: list[AuditEntry]


class UserOut(BaseModel):
    id: str
    display_name: str | None = None
    email: str | None = None
    role: str
    active: bool
    language: str | None = None
    created: str | None = None
    last_login: str | None = None


def _bound(request: Request, value: str | None, *, end: bool) -> datetime | None:
    if not value:
        return None
    return parse_when(value, ctx_of(request).zone, end_of_day=end)


def _audit_query(request: Request, actor: str | None, action: str | None, outcome: str | None, target: str | None,
                 date_from: str | None, date_to: str | None, page: int) -> tuple[Any, dict[str, str]]:
    errors: dict[str, str] = {}
    since = until = None
    try:
        since = _bound(request, date_from, end=False)
    except BadFilter as exc:
        errors["from"] = str(exc)
    try:
        until = _bound(request, date_to, end=True)
    except BadFilter as exc:
        errors["to"] = str(exc)
    if outcome and outcome not in OUTCOMES:
        errors["outcome"] = f"{outcome!r}: use {', '.join(OUTCOMES)}"
    if errors:
        return None, errors
    result = ctx_of(request).audit_log.search(
        actor=(actor or "").strip().lower() or None, action=(action or "").strip() or None, outcome=outcome or None,
        target=(target or "").strip() or None, since=since, until=until, offset=(page - 1) * AUDIT_PAGE_SIZE,
        size=AUDIT_PAGE_SIZE)
    zone = ctx_of(request).zone
    for entry in result.entries:
        entry["time"] = format_instant(datetime.fromisoformat(entry["time"]).astimezone(zone))
    return result, errors


ActorQ = Query(None, max_length=100, description="User id of who acted ('-': anonymous attempts)")
ActionQ = Query(None, max_length=100, description="login, login_failed, logout, user.create, export, token.create, …; "
                                                  "ending in '.' or '*': a prefix")
OutcomeQ = Query(None, description="ok | denied | failed")
TargetQ = Query(None, max_length=200, description="What was acted on, exactly: a user id, a login name tried, a source "
                                                  "id, a subscription id, a document id …")
FromQ = Query(None, alias="from", max_length=40, description="From (local): YYYY-MM-DD, today, yesterday, 7d …")
ToQ = Query(None, max_length=40, description="To (local, a day includes all of it)")
PageQ = Query(1, ge=1, le=200)


@router.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, actor: str | None = ActorQ, action: str | None = ActionQ,
               outcome: str | None = OutcomeQ, target: str | None = TargetQ, date_from: str | None = FromQ,
               to: str | None = ToQ, page: int = PageQ, user: User = Depends(require_admin)):
    result, errors = _audit_query(request, actor, action, outcome, target, date_from, to, page)
    entries = []
    if result is not None:
        for entry in result.entries:
            entries.append({**entry, "time": datetime.fromisoformat(entry["time"])})
    total = result.total if result is not None else 0
    return render(request, "audit.html", {
        "entries": entries, "total": total, "errors": errors, "page": page,
        "pages": max(1, -(-min(total, 200 * AUDIT_PAGE_SIZE) // AUDIT_PAGE_SIZE)),
        "filters": {"actor": actor or "", "action": action or "", "outcome": outcome or "",
                    "target": target or "", "from": date_from or "", "to": to or ""},
        "actions": ctx_of(request).audit_log.actions(), "outcomes": OUTCOMES,
    })


@router.get("/api/audit", response_model=AuditOut, tags=["admin"], summary="The audit log, newest first (admins)",
            responses={400: {"description": "A filter that cannot be read"}, 403: {"description": "Not an admin"}})
def audit_api(request: Request, actor: str | None = ActorQ, action: str | None = ActionQ,
              outcome: str | None = OutcomeQ, target: str | None = TargetQ, date_from: str | None = FromQ,
              to: str | None = ToQ, page: int = PageQ, user: User = Depends(require_admin)):
    result, errors = _audit_query(request, actor, action, outcome, target, date_from, to, page)
    if errors:
        from fastapi import HTTPException

        raise HTTPException(400, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return {"total": result.total, "page": page, "size": AUDIT_PAGE_SIZE, "entries": result.entries}


def _user_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in UserOut.model_fields} | {"active": bool(doc.get("active", True))}


def _users_page(request: Request, status_code: int = 200, **extra: Any):
    users = ctx_of(request).users.all()
    return render(request, "users.html", {"users": users, "form": extra.pop("form", {}), **extra},
                  status_code=status_code)


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, user: User = Depends(require_admin)):
    notice = None
    if added := request.query_params.get("added"):
        notice = gettext("users.added", language_of(request), name=added)
    return _users_page(request, notice=notice)


@router.post("/admin/users", include_in_schema=False)
def add_user(request: Request, name: str = Form(..., max_length=64), password: str = Form(..., max_length=1000),
             display_name: str = Form("", max_length=200), email: str = Form("", max_length=200),
             admin: str | None = Form(None), user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    try:
        created = create_user(ctx.users, ctx.audit_log, name=name, password=password,
                              role="admin" if admin else "analyst", min_length=ctx.settings.web.min_password_length,
                              actor=user.id, ip=client_address(request), display_name=display_name,
                              email=email or None, language=ctx.settings.web.language)
    except AccountError as exc:
        message = gettext(exc.key, language_of(request), **exc.params) if exc.key else str(exc)
        return _users_page(request, error=message, form={"name": name, "display_name": display_name, "email": email},
                           status_code=400)
    return RedirectResponse(f"/admin/users?added={created['id']}", status_code=303)


@router.post("/admin/users/{user_id}/active", include_in_schema=False)
def toggle_user(request: Request, user_id: str, active: str = Form(...), user: User = Depends(require_admin)):
    ctx = ctx_of(request)
    lang = language_of(request)
    enable = active == "1"
    if user_id == user.id and not enable:
        return _users_page(request, 400, error=gettext("users.not_self", lang))
    try:
        set_active(ctx.users, ctx.sessions, ctx.tokens, ctx.audit_log, user_id=user_id, active=enable,
                   actor=user.id, ip=client_address(request))
    except AccountError as exc:
        return _users_page(request, 400, error=gettext(exc.key, lang, **exc.params) if exc.key else str(exc))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/api/users", response_model=list[UserOut], tags=["admin"], summary="Every account (admins)",
            responses={403: {"description": "Not an admin"}})
def users_api(request: Request, user: User = Depends(require_admin)):
    return [_user_out(doc) for doc in ctx_of(request).users.all()]
