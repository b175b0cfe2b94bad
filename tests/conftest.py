"""Shared fixtures: one real Elasticsearch node for the session, started and stopped here.

Set ``MEDIAWATCH_TEST_ES_URL`` to run against an existing cluster instead (nothing is started).
Each test module writes under its own index prefix, so modules never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediawatch.config import Settings

REPO = Path(__file__).resolve().parent.parent
# The local test sites, proxies and receivers listen on loopback, which the SSRF guard refuses unless
# allowed (crawlers.netguard); tests of the guard itself set their own value.
LOOPBACK_ALLOWED = "127.0.0.1,::1"
os.environ.setdefault("MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS", LOOPBACK_ALLOWED)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cluster:
    """The test cluster, and the environment a subprocess needs to use it under a prefix."""

    url: str

    def settings(self, prefix: str, data_dir: Path) -> Settings:
        return Settings(es={"url": self.url}, index={"prefix": prefix}, data_dir=data_dir,
                        crawl={"allow_private_hosts": LOOPBACK_ALLOWED.split(",")})

    def env(self, prefix: str, data_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
        env.update(
            MEDIAWATCH_ES_URL=self.url,
            MEDIAWATCH_INDEX__PREFIX=prefix,
            MEDIAWATCH_DATA_DIR=str(data_dir),
            MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS=LOOPBACK_ALLOWED,
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 600) -> CliResult:
    """Run ``python -m mediawatch ARGS`` as a user would, capturing output."""
    proc = subprocess.run(
        [sys.executable, "-m", "mediawatch", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    external = os.environ.get("MEDIAWATCH_TEST_ES_URL")
    if external:
        yield Cluster(external)
        return
    from index import node

    home = Path(os.environ.get("MEDIAWATCH_TEST_ES_HOME", REPO / ".mediawatch" / "test-es"))
    settings = Settings(es={"home": home, "port": free_port(), "heap": "512m"})
    shutil.rmtree(home / "data", ignore_errors=True)
    url = node.ensure_started(settings, log=lambda *a, **k: None)
    try:
        yield Cluster(url)
    finally:
        node.stop(settings, log=lambda *a, **k: None)


@pytest.fixture
def prefix(cluster: Cluster) -> Iterator[str]:
    """A fresh index prefix for one test; its indices are deleted afterwards."""
    name = f"mwt-{uuid.uuid4().hex[:8]}"
    yield name
    delete_prefix(cluster.url, name)


def delete_prefix(url: str, name: str) -> None:
    """Delete a prefix's indices and templates by name (wildcard deletes are refused by default)."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(url)
    indices = list(client.indices.get(index=f"{name}-*", allow_no_indices=True))
    if indices:
        client.indices.delete(index=",".join(indices))
    found = client.options(ignore_status=404).indices.get_index_template(name=f"{name}-*")
    templates = found.get("index_templates", [])
    for template in templates:
        client.indices.delete_index_template(name=template["name"])
