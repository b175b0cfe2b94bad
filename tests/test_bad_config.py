"""Broken configuration and odd input across the CLI (issue 14: 10), tried as a new user would: a broken
sources.yaml or mediawatch.toml, bad environment values, unknown ids, odd queries and odd files. Every case runs
the real CLI as a subprocess against the real node (or, for settings problems, before any cluster is needed) and
must answer one line on stderr starting ``error:``, no traceback, and the exit code the README documents (2: a
usage or configuration mistake, an unknown id; 1: a command that ran and failed; 3: the cluster cannot be
reached). A cluster that accepts connections and never answers fails ``search`` as a refused one does, within
``es.request_timeout`` (no retries)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster, free_port, run_cli
from tests.test_cli_usage import _one_line

GOOD_SOURCE = """  - id: a
    name: A
    kind: news
    home: "http://x.test/"
"""

# name -> the sources file's bytes (None: a directory of that name), the words the line must hold
SOURCES_FILES: dict[str, tuple[bytes | None, list[str]]] = {
    "yaml-syntax": (b"sources:\n" + GOOD_SOURCE.encode() + b"   bad: [\n", ["not valid YAML", "line"]),
    "unknown-field": (b"sources:\n" + GOOD_SOURCE.encode() + b"    colour: red\n",
                      ["source a", "field colour", "not permitted"]),
    "bad-schedule": (b"sources:\n" + GOOD_SOURCE.encode() + b'    schedule: "every week"\n',
                     ["source a", "field schedule", "'every week'"]),
    "bad-cron": (b"sources:\n" + GOOD_SOURCE.encode() + b'    schedule: "61 * * * *"\n',
                 ["field schedule", "cron"]),
    "bad-zone": (b"sources:\n" + GOOD_SOURCE.encode() + b"    timezone: Asia/Hanoii\n",
                 ["field timezone", "'Asia/Hanoii'"]),
    "duplicate-ids": (b"sources:\n" + GOOD_SOURCE.encode() + GOOD_SOURCE.encode(), ["duplicate id 'a'"]),
    "wrong-type": (b"sources:\n" + GOOD_SOURCE.encode() + b"    max_pages: lots\n",
                   ["field max_pages", "integer"]),
    "wrong-list": (b"sources:\n" + GOOD_SOURCE.encode() + b"    feeds: 42\n", ["field feeds"]),
    "not-a-list": (b"sources: {a: 1}\n", ["top-level 'sources:' list"]),
    "empty": (b"", ["top-level 'sources:' list"]),
    "binary": (bytes(range(256)) * 8, ["cannot read sources file"]),
    "directory": (None, ["cannot read sources file", "directory"]),
}
SOURCES_COMMANDS = [("sources", "list"), ("crawl", "a"), ("schedule", "list")]


@pytest.mark.parametrize("command", SOURCES_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", list(SOURCES_FILES))
def test_a_broken_sources_file_is_one_line_exit_2(cluster: Cluster, prefix: str, tmp_path: Path, case: str,
                                                 command: tuple[str, ...]) -> None:
    content, words = SOURCES_FILES[case]
    path = tmp_path / f"{case}.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = run_cli(*command, env=cluster.env(prefix, tmp_path, MEDIAWATCH_CRAWL__SOURCES_FILE=str(path)),
                     timeout=120)
    line = _one_line(result.stderr)
    assert result.returncode == 2, (result.returncode, line)
    for word in words:
        assert word in line, (word, line)


def test_a_missing_sources_file_names_the_setting(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    result = run_cli("crawl", env=cluster.env(prefix, tmp_path,
                                              MEDIAWATCH_CRAWL__SOURCES_FILE=str(tmp_path / "nope.yaml")))
    line = _one_line(result.stderr)
    assert result.returncode == 2 and "does not exist" in line and "MEDIAWATCH_CRAWL__SOURCES_FILE" in line


# name -> the config file's bytes (None: a directory), the words the line must hold
CONFIG_FILES: dict[str, tuple[bytes | None, list[str]]] = {
    "toml-syntax": (b"[crawl\n", ["not valid TOML", "line 1"]),
    "unknown-key": (b'[crawl]\ntimezonee = "UTC"\n', ["unknown setting crawl.timezonee"]),
    "unknown-section": (b"[crwal]\ntimeout = 5\n", ["unknown setting crwal"]),
    "wrong-type": (b'[crawl]\ntimeout = "fast"\n', ["crawl.timeout", "number"]),
    "retention-type": (b'[index]\nretention_days = "thirty"\n', ["index.retention_days", "integer"]),
    "retention-zero": (b"[index]\nretention_days = 0\n", ["index.retention_days", "greater than or equal to 1"]),
    "retention-schedule": (b'[index]\nretention_schedule = "daily"\n', ["index.retention_schedule", "cron"]),
    "tick": (b"[schedule]\ntick_seconds = -1\n", ["schedule.tick_seconds", "greater than 0"]),
    "bool": (b'[crawl]\nobey_robots = "maybe"\n', ["crawl.obey_robots", "boolean"]),
    "binary": (b"\xff\xfe\x00\x01" * 64, ["not UTF-8"]),
    "directory": (None, ["MEDIAWATCH_CONFIG", "not a readable file"]),
}
CONFIG_COMMANDS = [("crawl",), ("status",), ("prune", "--dry-run"), ("users", "list"), ("extract", "README.md")]


@pytest.mark.parametrize("command", CONFIG_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", list(CONFIG_FILES))
def test_a_broken_config_file_is_one_line_exit_2(tmp_path: Path, case: str, command: tuple[str, ...]) -> None:
    from tests.test_cli_usage import _env

    content, words = CONFIG_FILES[case]
    path = tmp_path / f"{case}.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    result = run_cli(*command, env=_env(tmp_path, MEDIAWATCH_CONFIG=str(path)))
    line = _one_line(result.stderr)
    assert result.returncode == 2, (result.returncode, line)
    for word in words:
        assert word in line, (word, line)
    assert result.stdout == ""


# (environment, words): settings given by the environment, refused when loaded, for any command
ENVIRONMENT = [
    ({"MEDIAWATCH_ES__REQUEST_TIMEOUT": "abc"}, ["es.request_timeout", "MEDIAWATCH_ES__REQUEST_TIMEOUT", "number"]),
    ({"MEDIAWATCH_ES__REQUEST_TIMEOUT": "nan"}, ["es.request_timeout", "finite"]),
    ({"MEDIAWATCH_INDEX__RETENTION_DAYS": "30d"}, ["index.retention_days", "integer"]),
    ({"MEDIAWATCH_SCHEDULE__MAX_CONCURRENT_CRAWLS": "many"}, ["schedule.max_concurrent_crawls"]),
    ({"MEDIAWATCH_CRAWL__TIMEZONE": "Hanoi"}, ["crawl.timezone", "'Hanoi'", "Asia/Ho_Chi_Minh"]),
    ({"MEDIAWATCH_INDEX__PREFIX": "Bad Prefix"}, ["index.prefix", "'Bad Prefix'"]),
    ({"MEDIAWATCH_ES_URL": "not a url"}, ["invalid Elasticsearch URL 'not a url'", "http(s)://host[:port]"]),
    ({"MEDIAWATCH_ES_URL": "localhost:9200"}, ["invalid Elasticsearch URL 'localhost:9200'"]),
    ({"MEDIAWATCH_ES_URL": "http://[::1"}, ["invalid Elasticsearch URL"]),
    ({"MEDIAWATCH_ES_URL": "http://127.0.0.1:99999"}, ["invalid Elasticsearch URL"]),
    ({"MEDIAWATCH_WEB__PORT": "8080"}, ["unknown setting web.port", "MEDIAWATCH_WEB__PORT"]),
    ({"MEDIAWATCH_ES_CA_CERTS": "/nonexistent.pem"}, ["es.ca_certs", "not https"]),
]
ENV_COMMANDS = [("search", "lũ"), ("crawl",), ("prune", "--days", "30")]


@pytest.mark.parametrize("command", ENV_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("extra", "words"), ENVIRONMENT, ids=[next(iter(e[0].items()))[1] for e in ENVIRONMENT])
def test_bad_environment_values_are_one_line_exit_2(tmp_path: Path, extra: dict[str, str], words: list[str],
                                                    command: tuple[str, ...]) -> None:
    from tests.test_cli_usage import _env

    result = run_cli(*command, env=_env(tmp_path, **extra))
    line = _one_line(result.stderr)
    assert result.returncode == 2, (result.returncode, line)
    for word in words:
        assert word in line, (word, line)


# (args, exit code, words): unknown ids and odd input against a real prefix ("{tmp}": the world's folder)
ODD_CASES: list[tuple[tuple[str, ...], int, list[str]]] = [
    (("crawl", "nope"), 2, ["unknown source 'nope'", "known: a"]),
    (("runs", "--source", "nope"), 2, ["unknown source 'nope'", "known: a"]),
    (("sources", "remove", "nope", "--yes"), 2, ["unknown source 'nope'"]),
    (("alerts", "show", "nope"), 2, ["no alert named 'nope'", "mediawatch alerts list"]),
    (("alerts", "pause", "nope"), 2, ["no alert named 'nope'"]),
    (("alerts", "remove", "nope"), 2, ["no alert named 'nope'"]),
    (("users", "disable", "nope"), 2, ["no user named 'nope'"]),
    (("search", "--", '"unclosed'), 2, ["query syntax error", "unterminated quote"]),
    (("search", "--", "title:"), 2, ["query syntax error", "title:"]),
    (("search", "--", "lũ~2"), 2, ["query syntax error", "'~'"]),
    (("search", "--", "*"), 2, ["query syntax error", "lu*"]),
    (("search", "lũ", "--source", "Not An Id"), 2, ["--source", "not a source id"]),
    (("search", " OR ".join(f"x{i}" for i in range(3000))), 1, ["search failed", "too many clauses"]),
    (("extract", "{tmp}/empty.html"), 1, ["is empty", "nothing to extract"]),
    (("extract", "{tmp}/binary.html"), 1, ["not an HTML page", "binary"]),
    (("extract", "{tmp}/a-dir"), 1, ["is a directory"]),
    (("extract", "{tmp}/missing.html"), 1, ["no such file"]),
    (("extract", "http://[::1"), 1, ["malformed URL"]),
    (("extract", "ftp://x.test/"), 1, ["not an http(s) URL"]),
    (("extract", ""), 2, ["no file or URL given"]),  # was: ". is a directory"
    (("prune",), 2, ["no retention period", "--days"]),
]


@pytest.fixture(scope="module")
def odd_world(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """One prefix with the indices created and a sources file holding the source ``a``."""
    import uuid

    from index.client import make_client
    from index.mappings import ensure_indices
    from tests.conftest import delete_prefix

    name = f"mwt-odd-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("odd")
    sources = tmp / "sources.yaml"
    sources.write_text("sources:\n" + GOOD_SOURCE, encoding="utf-8")
    (tmp / "empty.html").write_bytes(b"")
    (tmp / "binary.html").write_bytes(bytes(range(256)) * 16)
    (tmp / "a-dir").mkdir()
    ensure_indices(make_client(cluster.settings(name, tmp)), cluster.settings(name, tmp))
    try:
        yield cluster.env(name, tmp, MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources)), tmp
    finally:
        delete_prefix(cluster.url, name)


@pytest.mark.parametrize(("args", "code", "words"), ODD_CASES, ids=[" ".join(c[0])[:50] for c in ODD_CASES])
def test_unknown_ids_odd_queries_and_odd_files_are_one_line(odd_world, args: tuple[str, ...], code: int,
                                                            words: list[str]) -> None:
    env, tmp = odd_world
    result = run_cli(*(arg.replace("{tmp}", str(tmp)) for arg in args), env=env, timeout=120)
    line = _one_line(result.stderr)
    assert result.returncode == code, (args[:3], result.returncode, line)
    for word in words:
        assert word in line, (word, line)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog, then accept()) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def test_a_cluster_that_never_answers_fails_search_like_a_refused_one(tmp_path: Path, silent_port: int) -> None:
    from tests.test_cli_usage import _env

    timeout = 4
    refused_env = _env(tmp_path, MEDIAWATCH_ES_URL=f"http://127.0.0.1:{free_port()}",
                       MEDIAWATCH_ES__REQUEST_TIMEOUT=str(timeout))
    started = time.monotonic()
    refused = run_cli("search", "lũ", env=refused_env)
    startup = time.monotonic() - started  # the CLI's own start and a refused connection: no waiting
    silent_env = {**refused_env, "MEDIAWATCH_ES_URL": f"http://127.0.0.1:{silent_port}"}
    started = time.monotonic()
    silent = run_cli("search", "lũ", env=silent_env, timeout=120)
    elapsed = time.monotonic() - started
    refused_line, silent_line = _one_line(refused.stderr), _one_line(silent.stderr)
    assert refused.returncode == silent.returncode == 3, (refused_line, silent_line)
    assert "is unreachable: connection refused" in refused_line
    assert f"Elasticsearch at http://127.0.0.1:{silent_port} is unreachable: the connection timed out" in silent_line
    assert refused_line.split(": ", 2)[0] == silent_line.split(": ", 2)[0] == "error"
    assert refused_line.endswith("set MEDIAWATCH_ES_URL.") and silent_line.endswith("set MEDIAWATCH_ES_URL.")
    # One request of es.request_timeout, not retried (three retries would be 4 × 4 s past the start-up).
    assert elapsed < startup + 2 * timeout + 5, (elapsed, startup)
