"""The account page (profile, interface language, password, API tokens) and its API: ``/api/me``,
``/api/tokens``. A token is shown once, when created; only its sha256 is kept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from index.users import iso, now_utc, secret_id
from web.accounts import AccountError, User, set_password, verify_password
from web.auth import TOKEN_PREFIX, audit, client_address, ctx_of, current_user, new_secret, owned_by
from web.i18n import LANGUAGES, gettext
from web.render import NavItem, language_of, render

router = APIRouter()
NAV = [NavItem("nav.account", "/account", 90)]


class MeOut(BaseModel):
    id: str
    display_name: str
    email: str | None
    role: str
    language: str


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="A name to recognise the token by")


class TokenOut(BaseModel):
    id: str = Field(description="The token's id (sha256 of the secret): use it to revoke")
    name: str
    hint: str = Field(description="The first characters of the secret")
    created: str | None = None
    last_used: str | None = None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once: send it as Authorization: Bearer <token>")


def _token_out(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("id", "name", "hint", "created", "last_used")}


def create_token(request: Request, user: User, name: str) -> dict[str, Any]:
    """A new API token for ``user``: the record plus ``token`` (the secret, shown once); audited."""
    secret = TOKEN_PREFIX + new_secret()
    record = {"id": secret_id(secret), "user": user.id, "name": name.strip()[:100] or "token",
              "hint": secret[:8], "created": iso(now_utc()), "last_used": None, "revoked": False}
    ctx_of(request).tokens.create(record["id"], record)
    audit(request, "token.create", user.id, details={"name": record["name"], "hint": record["hint"]})
    return {**record, "token": secret}


def revoke_token(request: Request, user: User, token_id: str) -> None:
    """Revoke one of ``user``'s own tokens (someone else's, or an unknown id: 404); audited."""
    ctx = ctx_of(request)
    record = owned_by(user, ctx.tokens.get(token_id), field="user")
    if record.get("revoked"):
        owned_by(user, None)
    ctx.tokens.update(token_id, {"revoked": True})
    audit(request, "token.revoke", user.id, details={"name": record.get("name"), "hint": record.get("hint")})


def _page(request: Request, user: User, **extra: Any):
    tokens = ctx_of(request).tokens.for_user(user.id)
    return render(request, "account.html", {"tokens": tokens, "languages": LANGUAGES, **extra})


@router.get("/account", include_in_schema=False)
def account_page(request: Request, user: User = Depends(current_user)):
    notice = {"lang": "account.language_saved", "revoked": "account.token_revoked",
              "password": "account.password_changed"}.get(request.query_params.get("done", ""))
    return _page(request, user, notice=notice)


@router.post("/account/language", include_in_schema=False)
def set_language(request: Request, language: str = Form(...), back: str = Form("/account"),
                 user: User = Depends(current_user)):
    if language not in LANGUAGES:
        return _page(request, user, error=f"{language!r}: vi | en")
    ctx_of(request).users.update(user.id, {"language": language, "updated": iso(now_utc())})
    from web.routes.login import safe_next

    target = safe_next(back)
    if target == "/account":
        target = "/account?done=lang"
    return RedirectResponse(target, status_code=303)


@router.post("/account/password", include_in_schema=False)
def change_password(request: Request, current: str = Form(..., max_length=1000), new: str = Form(..., max_length=1000),
                    confirm: str = Form(..., max_length=1000), user: User = Depends(current_user)):
    ctx = ctx_of(request)
    lang = language_of(request)
    record = ctx.users.get(user.id) or {}
    if not verify_password(record.get("password_hash"), current):
        audit(request, "user.password", user.id, "failed", {"reason": "wrong_current_password"})
        return _page(request, user, password_error=gettext("account.password_wrong", lang))
    if new != confirm:
        return _page(request, user, password_error=gettext("account.password_mismatch", lang))
    try:
        set_password(ctx.users, ctx.sessions, ctx.audit_log, user_id=user.id, password=new,
                     min_length=ctx.settings.web.min_password_length, actor=user.id, ip=client_address(request),
                     keep_session=request.state.principal.session_id)
    except AccountError as exc:
        return _page(request, user, password_error=gettext(exc.key, lang, **exc.params) if exc.key else str(exc))
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/tokens", include_in_schema=False)
def create_token_form(request: Request, name: str = Form("", max_length=100), user: User = Depends(current_user)):
    created = create_token(request, user, name or "token")
    return _page(request, user, new_token=created)


@router.post("/account/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(request: Request, token_id: str, user: User = Depends(current_user)):
    revoke_token(request, user, token_id)
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.get("/api/me", response_model=MeOut, tags=["account"], summary="The caller's account")
def me(user: User = Depends(current_user)):
    return MeOut(id=user.id, display_name=user.display_name, email=user.email, role=user.role, language=user.language)


@router.get("/api/tokens", response_model=list[TokenOut], tags=["account"], summary="The caller's API tokens")
def list_tokens(request: Request, user: User = Depends(current_user)):
    return [_token_out(t) for t in ctx_of(request).tokens.for_user(user.id)]


@router.post("/api/tokens", response_model=NewTokenOut, status_code=201, tags=["account"],
             summary="Create an API token (the secret is in this answer only)")
def create_token_api(request: Request, body: TokenIn, user: User = Depends(current_user)):
    created = create_token(request, user, body.name)
    return {**_token_out(created), "token": created["token"]}


@router.delete("/api/tokens/{token_id}", status_code=204, tags=["account"],
               summary="Revoke one of the caller's API tokens (another user's: 404)",
               responses={404: {"description": "No such token of yours"}})
def revoke_token_api(request: Request, token_id: str, user: User = Depends(current_user)):
    revoke_token(request, user, token_id)
