"""Accounts: names, password rules and argon2 hashes, creating and changing users (the CLI and the web app
both use these, so both apply the same rules and write the same audit entries).

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); a hash made
with older parameters is upgraded at the next successful login.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from index.users import ROLES, AuditLog, SessionStore, TokenStore, UserStore, iso, now_utc
from mediawatch.errors import UserError

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None


class AccountError(UserError):
    """A user name, password or role that cannot be used; ``key`` names the i18n message for pages."""

    exit_code = 2

    def __init__(self, message: str, key: str = "", **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class User:
    """A signed-in person as handlers see them (never carries the password hash)."""

    id: str
    role: str
    display_name: str
    email: str | None
    language: str
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def from_record(cls, doc: dict[str, Any], default_language: str = "vi") -> User:
        return cls(id=doc["id"], role=doc.get("role") or "analyst", display_name=doc.get("display_name") or doc["id"],
                   email=doc.get("email"), language=doc.get("language") or default_language,
                   active=bool(doc.get("active", True)))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification (no timing hint that the
    account does not exist)."""
    global _DUMMY_HASH
    if not password_hash:
        _DUMMY_HASH = _DUMMY_HASH or _hasher.hash("not a password")
        password_hash, password = _DUMMY_HASH, password + "\0"
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_username(name: str) -> str:
    """The login name, lower-cased, when it is 2–64 of ``a-z 0-9 . _ -``; else AccountError."""
    value = name.strip().lower()
    if not USERNAME.match(value):
        raise AccountError(f"{name!r} is not a user name: use 2-64 lower-case letters, digits, '.', '_' or '-'",
                           "users.bad_name")
    return value


def check_password(password: str, min_length: int) -> str:
    if len(password) < min_length:
        raise AccountError(f"a password needs at least {min_length} characters", "account.password_short",
                           n=min_length)
    return password


def create_user(users: UserStore, audit_log: AuditLog, *, name: str, password: str, role: str, min_length: int,
                actor: str, ip: str = "", display_name: str | None = None, email: str | None = None,
                language: str = "vi") -> dict[str, Any]:
    """Create an account (create-only: an existing name is an AccountError); audited as ``user.create``."""
    user_id = check_username(name)
    check_password(password, min_length)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    now = iso(now_utc())
    doc = {"id": user_id, "display_name": (display_name or "").strip() or user_id, "email": email or None,
           "role": role, "password_hash": hash_password(password), "active": True, "language": language,
           "created": now, "updated": now, "last_login": None}
    if not users.create(user_id, doc):
        raise AccountError(f"a user named {user_id!r} exists already", "users.exists", name=user_id)
    audit_log.record(actor=actor, action="user.create", target=user_id, ip=ip, details={"role": role})
    return doc


def set_password(users: UserStore, sessions: SessionStore, audit_log: AuditLog, *, user_id: str, password: str,
                 min_length: int, actor: str, ip: str = "", keep_session: str | None = None) -> None:
    """New password; every session of the user ends (but ``keep_session``); audited as ``user.password``."""
    check_password(password, min_length)
    if not users.update(user_id, {"password_hash": hash_password(password), "updated": iso(now_utc())}):
        raise AccountError(f"no user named {user_id!r}")
    sessions.delete_for_user(user_id, keep=keep_session)
    audit_log.record(actor=actor, action="user.password", target=user_id, ip=ip)


def set_active(users: UserStore, sessions: SessionStore, tokens: TokenStore, audit_log: AuditLog, *, user_id: str,
               active: bool, actor: str, ip: str = "") -> None:
    """Enable or disable an account. Disabling ends its sessions and revokes its API tokens, and is refused for
    the last active administrator. Audited as ``user.disable`` / ``user.enable``."""
    doc = users.get(user_id)
    if doc is None:
        raise AccountError(f"no user named {user_id!r}", "error.not_found")
    if not active and doc.get("role") == "admin" and doc.get("active", True) and users.count_active_admins() <= 1:
        raise AccountError("the last active administrator cannot be disabled", "users.last_admin")
    users.update(user_id, {"active": active, "updated": iso(now_utc())})
    if not active:
        sessions.delete_for_user(user_id)
        tokens.revoke_for_user(user_id)
    audit_log.record(actor=actor, action="user.enable" if active else "user.disable", target=user_id, ip=ip)
