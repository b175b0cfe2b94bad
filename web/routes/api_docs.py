"""``/api``: a page listing the JSON API (from the app's own OpenAPI description), served locally: Swagger UI
and ReDoc are off because they load their scripts from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from web.accounts import User
from web.auth import ctx_of, current_user
from web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/api")
def api_page(request: Request, user: User = Depends(current_user)):
    schema = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", "")}
        for path, methods in sorted(schema.get("paths", {}).items())
        for method, op in methods.items()
    ]
    base = ctx_of(request).settings.web.base_url or str(request.base_url).rstrip("/")
    return render(request, "api.html", {"operations": operations, "base": base})
