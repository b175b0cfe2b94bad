"""``mediawatch users``: the first administrator and account changes from the command line, as a person runs
them (a real process, a real node); mistakes are one line and exit 2; every change is audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, Cluster


def users(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediawatch", "users", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_users_add_list_passwd_disable(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    from index.client import make_client
    from index.users import AuditLog, UserStore
    from web.accounts import verify_password

    env = cluster.env(prefix, tmp_path)
    added = users(env, "add", "Chanh.VP", "--admin", "--display-name", "Lê Văn Chánh", "--password-stdin",
                  stdin="mat-khau-dai-du\n")
    assert added.returncode == 0, added.stderr
    assert "created administrator chanh.vp" in added.stdout
    assert users(env, "add", "an", "--password-stdin", stdin="mat-khau-cua-an\n").returncode == 0

    listed = json.loads(users(env, "list", "--json").stdout)
    assert [(u["id"], u["role"], u["active"], u["display_name"]) for u in listed] == [
        ("an", "analyst", True, "an"), ("chanh.vp", "admin", True, "Lê Văn Chánh")]

    for args, stdin, needle in (
        (("add", "an", "--password-stdin"), "mat-khau-khac-1\n", "exists already"),
        (("add", "binh", "--password-stdin"), "ngan\n", "at least 10 characters"),
        (("add", "Bình An", "--password-stdin"), "mat-khau-dai-du\n", "is not a user name"),
        (("add", "binh"), "", "--password-stdin"),  # no terminal to ask at
        (("passwd", "nobody", "--password-stdin"), "mat-khau-dai-du\n", "no user named"),
        (("disable", "chanh.vp"), None, "last active administrator"),
    ):
        result = users(env, *args, stdin=stdin)
        assert result.returncode != 0 and needle in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr

    assert users(env, "passwd", "an", "--password-stdin", stdin="mat-khau-moi-cua-an\n").returncode == 0
    assert users(env, "disable", "an").returncode == 0
    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    record = UserStore.of(client, settings).get("an")
    assert record is not None and record["active"] is False
    assert verify_password(record["password_hash"], "mat-khau-moi-cua-an")
    assert record["password_hash"].startswith("$argon2id$") and "mat-khau" not in json.dumps(record)
    actions = [(e["action"], e["target"]) for e in reversed(AuditLog.of(client, settings).search().entries)]
    assert actions == [("user.create", "chanh.vp"), ("user.create", "an"), ("user.password", "an"),
                       ("user.disable", "an")]
    assert all(e["actor"].startswith("cli") for e in AuditLog.of(client, settings).search().entries)
