"""The local Elasticsearch node and the client factory: pure helpers, then one real node under /tmp."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from index import node
from index.client import make_client, ping_or_raise
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, ConfigError, UserError

REPO = Path(__file__).resolve().parent.parent
VERSION = Settings().es.version


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


def open_dir(prefix: str) -> Path:
    """A fresh directory under /tmp that an unprivileged service user can traverse."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def fake_jdk(root: Path, name: str, version: str, *, java: bool = True) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    if java:
        (home / "bin" / "java").write_text("#!/bin/sh\nexit 0\n")
        (home / "bin" / "java").chmod(0o755)
    return home


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="200", **extra)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


# ---------------------------------------------------------------- config rendering


def test_render_config_describes_a_single_loopback_node(tmp_path: Path) -> None:
    text = node.render_config(
        host="127.0.0.1", http_port=9250, transport_port=9350, data=tmp_path / "data",
        logs=tmp_path / "logs", security_module=True,
    )
    cfg = yaml.safe_load(text)
    assert cfg["cluster.name"] == "mediawatch"
    assert cfg["network.host"] == "127.0.0.1"
    assert (cfg["http.port"], cfg["transport.port"]) == (9250, 9350)
    assert cfg["discovery.type"] == "single-node"
    assert cfg["path.data"] == str(tmp_path / "data")
    assert cfg["path.logs"] == str(tmp_path / "logs")
    assert cfg["cluster.routing.allocation.disk.threshold_enabled"] is False
    assert cfg["xpack.security.enabled"] is False


def test_render_config_has_no_xpack_settings_without_the_security_module(tmp_path: Path) -> None:
    text = node.render_config(
        host="::1", http_port=9200, transport_port=9300, data=tmp_path, logs=tmp_path, security_module=False
    )
    assert "xpack" not in text
    assert yaml.safe_load(text)["network.host"] == "::1"


def test_render_config_for_a_cluster_node_lists_the_others(tmp_path: Path) -> None:
    names = ["mediawatch-1", "mediawatch-2", "mediawatch-3"]
    first = yaml.safe_load(node.render_config(
        host="127.0.0.1", http_port=9201, transport_port=9301, data=tmp_path, logs=tmp_path, security_module=True,
        node_name="mediawatch-2", seed_hosts=["127.0.0.1:9300", "127.0.0.1:9302"], initial_master_nodes=names,
    ))
    assert "discovery.type" not in first
    assert first["discovery.seed_hosts"] == ["127.0.0.1:9300", "127.0.0.1:9302"]
    assert first["cluster.initial_master_nodes"] == names
    assert (first["cluster.name"], first["node.name"], first["http.port"]) == ("mediawatch", "mediawatch-2", 9201)
    again = yaml.safe_load(node.render_config(  # a restart of a node that has joined: no bootstrap list
        host="127.0.0.1", http_port=9201, transport_port=9301, data=tmp_path, logs=tmp_path, security_module=True,
        node_name="mediawatch-2", seed_hosts=["127.0.0.1:9300"],
    ))
    assert "cluster.initial_master_nodes" not in again and again["discovery.seed_hosts"] == ["127.0.0.1:9300"]


def test_cluster_members_share_the_distribution_and_nothing_else(tmp_path: Path) -> None:
    base = node.NodeLayout(tmp_path, "8.19.7")
    members = node.member_layouts(base, 3)
    assert [m.name for m in members] == ["mediawatch-1", "mediawatch-2", "mediawatch-3"]
    assert {m.install for m in members} == {base.install}
    for m in members:
        assert m.root == tmp_path / "cluster" / f"node-{m.name[-1]}"
        assert m.config_dir == m.root / "config" and m.config_file.parent == m.config_dir
        assert m.data == m.root / "data" and m.pid_file.parent == m.root / "run"
    assert base.config_dir == base.install / "config"  # the single node keeps the distribution's config
    assert len({m.data for m in members} | {m.logs for m in members} | {base.data}) == 7


def test_a_local_cluster_url_lists_every_node() -> None:
    assert Settings(es={"port": 9200}).es.effective_url == "http://127.0.0.1:9200"
    assert Settings(es={"port": 9200, "nodes": 3}).es.effective_url == (
        "http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202"
    )
    assert Settings(es={"url": "https://a:9200", "nodes": 3}).es.effective_url == "https://a:9200"


# ---------------------------------------------------------------- JDK discovery


def test_java_major_reads_the_release_file(tmp_path: Path) -> None:
    assert node.java_major(fake_jdk(tmp_path, "a", "17.0.15")) == 17
    assert node.java_major(fake_jdk(tmp_path, "b", "21")) == 21
    assert node.java_major(fake_jdk(tmp_path, "c", "1.8.0_392")) == 8
    assert node.java_major(tmp_path / "missing") is None


def test_find_java_home_prefers_lts_jdks_under_the_jvm_dir(tmp_path: Path) -> None:
    for name, version in [("jdk-11", "11.0.2"), ("jdk-17", "17.0.9"), ("jdk-21", "21.0.1"), ("jdk-25", "25")]:
        fake_jdk(tmp_path, name, version)
    fake_jdk(tmp_path, "jre-21-broken", "21.0.3", java=False)
    assert node.find_java_home(None, {}, tmp_path) == tmp_path / "jdk-21"
    shutil.rmtree(tmp_path / "jdk-21")
    assert node.find_java_home(None, {}, tmp_path) == tmp_path / "jdk-17"


def test_find_java_home_order_configured_then_environment(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    fake_jdk(jvm, "jdk-21", "21.0.1")
    own = fake_jdk(tmp_path, "own", "17.0.2")
    old = fake_jdk(tmp_path, "old", "11.0.2")
    assert node.find_java_home(own, {"JAVA_HOME": str(old)}, jvm) == own
    assert node.find_java_home(None, {"ES_JAVA_HOME": str(own)}, jvm) == own
    assert node.find_java_home(None, {"JAVA_HOME": str(own)}, jvm) == own
    # A JAVA_HOME too old for Elasticsearch is passed over, not used.
    assert node.find_java_home(None, {"JAVA_HOME": str(old)}, jvm) == jvm / "jdk-21"


def test_find_java_home_failures_are_one_actionable_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no bin/java"):
        node.find_java_home(tmp_path / "nothing", {}, tmp_path)
    with pytest.raises(UserError) as exc:
        node.find_java_home(None, {}, tmp_path / "empty")
    assert "openjdk-17" in str(exc.value) and "\n" not in str(exc.value)


def test_find_java_home_on_this_machine() -> None:
    # The suite runs a real node, so a supported JDK must be installed here (README: JDK 17 or 21).
    found = node.find_java_home(None, {}, node.JVM_DIR)
    assert node.java_major(found) in node.SUPPORTED_JAVA


# ---------------------------------------------------------------- heap, Maven, layout, logs


def test_heap_is_validated_and_pinned() -> None:
    assert node.java_opts("512m") == "-Xms512m -Xmx512m"
    assert node.java_opts(" 1G ") == "-Xms1g -Xmx1g"
    for bad in ("", "0m", "512", "1.5g", "lots"):
        with pytest.raises(ConfigError):
            node.java_opts(bad)
    assert Settings(es={"heap": "256m"}).es.heap == "256m"
    with pytest.raises(ValueError, match="at most 1g"):
        Settings(es={"heap": "2g"})
    with pytest.raises(ValueError, match="512m or 1g"):
        Settings(es={"heap": "lots"})


def test_local_maven_repository_follows_maven(tmp_path: Path) -> None:
    assert node.local_maven_repository({}, tmp_path) == tmp_path / ".m2" / "repository"
    (tmp_path / ".m2").mkdir()
    (tmp_path / ".m2" / "settings.xml").write_text(
        '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">'
        "<localRepository>${user.home}/cache/m2</localRepository></settings>"
    )
    assert node.local_maven_repository({}, tmp_path) == tmp_path / "cache" / "m2"
    env = {"MAVEN_OPTS": "-Xmx1g -Dmaven.repo.local=/srv/m2 -Dfoo=bar"}
    assert node.local_maven_repository(env, tmp_path) == Path("/srv/m2")
    assert node.artifact_path(Path("/r"), "8.19.7") == Path(
        "/r/org/elasticsearch/distribution/integ-test-zip/elasticsearch/8.19.7/elasticsearch-8.19.7.zip"
    )


def test_fetch_distribution_uses_the_cached_zip_without_mvn(tmp_path: Path) -> None:
    zip_path = node.artifact_path(tmp_path / "repo", "1.2.3")
    zip_path.parent.mkdir(parents=True)
    zip_path.write_bytes(b"PK")
    env = {"PATH": "", "MAVEN_OPTS": f"-Dmaven.repo.local={tmp_path / 'repo'}"}
    assert node.fetch_distribution("1.2.3", environ=env, log=pytest.fail) == zip_path


def test_fetch_distribution_without_mvn_is_one_line(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "MAVEN_OPTS": f"-Dmaven.repo.local={tmp_path / 'repo'}"}
    with pytest.raises(UserError) as exc:
        node.fetch_distribution("1.2.3", environ=env, log=lambda _m: None)
    message = str(exc.value)
    assert "`mvn` is not installed" in message and "MEDIAWATCH_ES_URL" in message and "\n" not in message


def test_untraversable_home_moves_the_node_to_a_fallback() -> None:
    base = open_dir("mw-layout-")
    try:
        assert node.untraversable_ancestor(base / "es") is None
        assert node.choose_root(base / "es", as_root=True) == (base / "es", None)
        closed = base / "closed"  # like /root: drwx------
        (closed / "repo").mkdir(parents=True)
        closed.chmod(0o700)
        home = closed / "repo" / ".mediawatch" / "es"
        assert node.untraversable_ancestor(home) == closed
        root, blocked = node.choose_root(home, as_root=True, base=base / "fallback")
        assert blocked == closed
        assert root.parent == base / "fallback" and root.name.startswith("es-")
        assert node.fallback_root(home, base) == node.fallback_root(home, base)
        assert node.fallback_root(home, base) != node.fallback_root(home / "other", base)
        # Unprivileged runs start the node as the same user: no fallback needed.
        assert node.choose_root(home, as_root=False) == (home, None)
    finally:
        shutil.rmtree(base)


def test_summarize_log_keeps_the_errors_on_one_line() -> None:
    lines = [
        "[2026-01-01T00:00:00,000][INFO ][o.e.n.Node               ] [n] starting ...",
        "[2026-01-01T00:00:01,000][ERROR][o.e.b.Elasticsearch      ] [n] fatal exception while booting",
        "java.lang.IllegalArgumentException: unknown setting [foo.bar]",
        "\tat org.elasticsearch.common.settings.AbstractScopedSettings.validate(X.java:1)",
        "ERROR: Elasticsearch died while starting up, with exit code 1",
    ]
    summary = node.summarize_log(lines)
    assert "\n" not in summary
    assert summary.startswith("ERROR fatal exception while booting")
    assert "unknown setting [foo.bar]" in summary and "died while starting up" in summary
    assert "AbstractScopedSettings" not in summary
    assert node.summarize_log(["just one line"]) == "just one line"


def test_pick_transport_port_avoids_a_taken_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = node.pick_transport_port("127.0.0.1", taken - 100)
        assert chosen != taken and 0 < chosen < 65536


# ---------------------------------------------------------------- client factory


def test_make_client_with_api_key_and_ca_certs(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings(
        es={"url": "https://es.example.org:9243", "api_key": "c2VjcmV0", "username": "ignored",
            "password": "x", "ca_certs": ca, "request_timeout": 12.5}
    )
    client = make_client(settings)
    assert client._headers["authorization"] == "ApiKey c2VjcmV0"
    (node_,) = client.transport.node_pool.all()
    cfg = node_.config
    assert (cfg.scheme, cfg.host, cfg.port) == ("https", "es.example.org", 9243)
    assert cfg.ca_certs == str(ca) and cfg.verify_certs is True
    assert client._request_timeout == 12.5
    assert client._retry_on_timeout is True


def test_make_client_with_basic_auth_and_no_verification() -> None:
    import base64

    settings = Settings(
        es={"url": "https://es.internal:9200", "username": "elastic", "password": "s3cret",
            "verify_certs": False}
    )
    client = make_client(settings)
    expected = base64.b64encode(b"elastic:s3cret").decode()
    assert client._headers["authorization"] == f"Basic {expected}"
    (node_,) = client.transport.node_pool.all()
    assert node_.config.verify_certs is False and node_.config.ssl_show_warn is False


def test_make_client_defaults_to_the_local_node_without_auth() -> None:
    client = make_client(Settings(es={"port": 9288}))
    (node_,) = client.transport.node_pool.all()
    assert (node_.config.scheme, node_.config.host, node_.config.port) == ("http", "127.0.0.1", 9288)
    assert "authorization" not in client._headers


def test_make_client_rejects_inconsistent_tls_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ConfigError, match="not https"):
        make_client(Settings(es={"url": "http://es:9200", "ca_certs": ca}))
    with pytest.raises(ConfigError, match="not a readable file"):
        make_client(Settings(es={"url": "https://es:9200", "ca_certs": tmp_path / "missing.pem"}))
    with pytest.raises(ConfigError, match="invalid Elasticsearch URL"):
        make_client(Settings(es={"url": "es:9200"}))


def test_make_client_takes_several_urls_as_the_nodes_of_one_cluster() -> None:
    client = make_client(Settings(es={"url": " https://a.example:9200, https://b.example:9201 ,https://c.example"}))
    hosts = sorted((n.config.scheme, n.config.host, n.config.port) for n in client.transport.node_pool.all())
    assert hosts == [("https", "a.example", 9200), ("https", "b.example", 9201), ("https", "c.example", 443)]
    quick = client.options(max_retries=0, request_timeout=5)  # each node once; a timeout is not retried
    assert (quick._max_retries, quick._retry_on_timeout, quick._request_timeout) == (2, False, 5)
    assert client.options(max_retries=5)._max_retries == 5
    single = make_client(Settings(es={"url": "https://a.example:9200"})).options(max_retries=0)
    assert (single._max_retries, single._retry_on_timeout) == (0, True)
    with pytest.raises(ConfigError, match="mix http and https"):
        make_client(Settings(es={"url": "https://a:9200,http://b:9200"}))
    with pytest.raises(ConfigError, match="invalid Elasticsearch URL 'b:9200'"):
        make_client(Settings(es={"url": "http://a:9200,b:9200"}))
    with pytest.raises(ConfigError, match="invalid Elasticsearch URL"):
        make_client(Settings(es={"url": "http://a:99999"}))
    with pytest.raises(ConfigError, match="invalid Elasticsearch URL"):
        make_client(Settings(es={"url": " , "}))


def test_ping_or_raise_on_a_closed_port_is_one_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    settings = Settings(es={"url": url})
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable) as exc:
        ping_or_raise(make_client(settings), url)
    message = str(exc.value)
    assert message == (
        f"Elasticsearch at {url} is unreachable: connection refused. "
        "Start the local node with `mediawatch es start` or set MEDIAWATCH_ES_URL."
    )
    assert time.monotonic() - started < 10


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with the status, headers and body set on the server."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        status, headers, body = self.server.canned  # type: ignore[attr-defined]
        self.send_response(status)
        for key, value in {**headers, "Content-Type": "application/json"}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_ping_or_raise_names_a_server_that_is_not_elasticsearch(canned_server: ThreadingHTTPServer) -> None:
    canned_server.canned = (404, {}, b'{"detail": "not here"}')  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{canned_server.server_address[1]}"
    with pytest.raises(ClusterUnavailable, match="is unreachable: the server there is not Elasticsearch"):
        ping_or_raise(make_client(Settings(es={"url": url})), url)


def test_ping_or_raise_on_rejected_credentials_points_at_them(canned_server: ThreadingHTTPServer) -> None:
    body = b'{"error": {"type": "security_exception", "reason": "unable to authenticate"}, "status": 401}'
    canned_server.canned = (401, {"X-Elastic-Product": "Elasticsearch"}, body)  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{canned_server.server_address[1]}"
    with pytest.raises(ClusterUnavailable) as exc:
        ping_or_raise(make_client(Settings(es={"url": url, "api_key": "bad"})), url)
    assert str(exc.value) == (
        f"Elasticsearch at {url} refused the request: HTTP 401 security_exception. "
        "Check MEDIAWATCH_ES_API_KEY or MEDIAWATCH_ES_USERNAME/MEDIAWATCH_ES_PASSWORD."
    )


# ---------------------------------------------------------------- remote URL: nothing is provisioned


def test_remote_url_on_a_closed_port_raises_cluster_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    home = tmp_path / "es-home"
    settings = Settings(es={"url": url, "home": home})
    with pytest.raises(ClusterUnavailable) as exc:
        node.ensure_started(settings, log=pytest.fail)
    assert "\n" not in str(exc.value) and url in str(exc.value)
    assert exc.value.exit_code == 3
    assert not home.exists(), "a remote URL must not provision anything"
    assert node.status(settings).running is False
    assert node.stop(settings, log=lambda _m: None) is False


def test_cli_status_with_unreachable_url_prints_one_error_line() -> None:
    env = clean_env(MEDIAWATCH_ES_URL=f"http://127.0.0.1:{closed_port()}")
    proc = run_cli("es", "status", env=env)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: Elasticsearch at http://127.0.0.1:") and "unreachable" in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_cli_start_nodes_with_an_external_url_is_one_line() -> None:
    proc = run_cli("es", "start", "--nodes", "3", env=clean_env(MEDIAWATCH_ES_URL="http://127.0.0.1:9"))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: --nodes starts a local cluster")


def test_ping_or_raise_tries_every_node_of_a_cluster() -> None:
    urls = f"http://127.0.0.1:{closed_port()},http://127.0.0.1:{closed_port()}"
    with pytest.raises(ClusterUnavailable, match="unreachable: connection refused"):
        ping_or_raise(make_client(Settings(es={"url": urls})), urls)


# ---------------------------------------------------------------- local node: failures without a node


def test_port_taken_by_another_program_is_one_clear_error() -> None:
    home = open_dir("mw-busy-")
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(UserError) as exc:
                node.ensure_started(Settings(es={"home": home / "es", "port": port}), log=lambda _m: None)
        message = str(exc.value)
        assert f"port {port} on 127.0.0.1 is already used by another program" in message
        assert "\n" not in message
    finally:
        shutil.rmtree(home)


def test_a_cluster_port_taken_by_another_program_is_one_clear_error() -> None:
    home = open_dir("mw-busy-cluster-")
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            settings = Settings(es={"home": home / "es", "port": taken - 1, "nodes": 3})
            taken_message = r"port \d+ on 127.0.0.1 \(HTTP of node mediawatch-[12]\) is already used"
            with pytest.raises(UserError, match=taken_message):
                node.ensure_started(settings, log=lambda _m: None)
        assert node.status(settings).members and not node.status(settings).running
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_node_that_dies_on_startup_reports_its_last_words() -> None:
    home = open_dir("mw-dead-")
    try:
        jdk = home / "jdk"
        (jdk / "bin").mkdir(parents=True)
        (jdk / "bin" / "java").write_text('#!/bin/sh\necho "Error: this JVM is a stub" >&2\nexit 1\n')
        os.chmod(jdk / "bin" / "java", 0o755)
        settings = Settings(
            es={"home": home / "es", "port": free_port(), "java_home": jdk, "start_timeout": 60}
        )
        with pytest.raises(UserError) as exc:
            node.ensure_started(settings, log=lambda _m: None)
        message = str(exc.value)
        assert message.startswith("Elasticsearch failed to start (exit code 1): Error: this JVM is a stub")
        assert "\n" not in message
        assert node.status(settings).running is False
    finally:
        shutil.rmtree(home)


def processes_running_from(install: Path) -> list[int]:
    """Pids whose command line names ``install`` as Elasticsearch's home (launcher or server)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(install) in cmdline:
                pids.append(int(proc.name))
    return pids


def test_a_start_that_times_out_leaves_no_process_behind() -> None:
    home = open_dir("mw-slow-")
    try:
        settings = Settings(es={"home": home / "es", "port": free_port(), "start_timeout": 2})
        with pytest.raises(UserError) as exc:
            node.ensure_started(settings, log=lambda _m: None)
        assert str(exc.value).startswith("Elasticsearch did not become ready within 2 s")
        time.sleep(0.5)
        assert processes_running_from(node.node_layout(settings).install) == []
    finally:
        shutil.rmtree(home)


# ---------------------------------------------------------------- a real node


@pytest.fixture(scope="module")
def local_node() -> Iterator[tuple[Settings, str, float]]:
    """One real node under a traversable /tmp home on a free port; always stopped afterwards."""
    home = open_dir("mw-node-")
    settings = Settings(es={"home": home / "es", "port": free_port(), "heap": "512m", "start_timeout": 240})
    started = time.monotonic()
    try:
        url = node.ensure_started(settings, log=lambda _m: None)
        yield settings, url, time.monotonic() - started
    finally:
        node.stop(settings, log=lambda _m: None)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
def test_local_node_runs_and_reports_status(local_node: tuple[Settings, str, float]) -> None:
    settings, url, _ = local_node
    assert url == f"http://127.0.0.1:{settings.es.port}"
    st = node.status(settings)
    assert st.running and st.managed and st.url == url
    assert st.version == settings.es.version
    assert st.health in ("green", "yellow")
    assert st.pid and st.data_dir == node.resolve_home(settings) / "data"
    assert any(st.data_dir.iterdir()), "the node keeps its data under home/data"
    if os.geteuid() == 0:  # Elasticsearch refuses root: it must run as the service user
        uid = int(Path(f"/proc/{st.pid}/status").read_text().split("Uid:")[1].split()[0])
        assert uid != 0 and uid == __import__("pwd").getpwnam(settings.es.run_as).pw_uid
    health = ping_or_raise(make_client(settings), url)
    assert health["cluster_name"] == "mediawatch" and health["number_of_nodes"] == 1


@pytest.mark.slow
def test_second_ensure_started_is_quick_and_keeps_the_node(local_node: tuple[Settings, str, float]) -> None:
    settings, url, _ = local_node
    pid = node.status(settings).pid
    started = time.monotonic()
    assert node.ensure_started(settings, log=lambda _m: None) == url
    assert time.monotonic() - started < 5
    assert node.status(settings).pid == pid


@pytest.mark.slow
def test_client_reads_and_writes_through_the_local_node(local_node: tuple[Settings, str, float]) -> None:
    settings, _, _ = local_node
    client = make_client(settings)
    client.index(index="mw-node-smoke", id="1", document={"title": "Lũ lụt ở Từ Sơn"}, refresh=True)
    hits = client.search(index="mw-node-smoke", query={"match": {"title": "lụt"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]
    client.indices.delete(index="mw-node-smoke")


@pytest.mark.slow
def test_a_client_with_a_dead_first_url_uses_the_next(local_node: tuple[Settings, str, float]) -> None:
    settings, url, _ = local_node
    urls = f"http://127.0.0.1:{closed_port()},{url}"
    client = make_client(settings, url=urls)
    for _ in range(4):  # whichever node the pool picks first, every request is answered
        assert ping_or_raise(make_client(settings, url=urls), urls)["number_of_nodes"] == 1
        assert client.cluster.health()["status"] in ("green", "yellow")
        # "no retries" still tries the next node when one refuses the connection
        quick = make_client(settings, url=urls).options(max_retries=0, request_timeout=10)
        assert quick.cluster.health()["status"] in ("green", "yellow")


@pytest.mark.slow
def test_cli_start_status_stop_on_the_local_node(local_node: tuple[Settings, str, float]) -> None:
    settings, url, _ = local_node
    env = clean_env(
        MEDIAWATCH_ES__HOME=str(settings.es.home), MEDIAWATCH_ES__PORT=str(settings.es.port)
    )
    start = run_cli("es", "start", env=env)
    assert start.returncode == 0, start.stderr
    assert start.stdout.strip().splitlines()[-1] == url

    status = run_cli("es", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert url in status.stdout and settings.es.version in status.stdout

    stop = run_cli("es", "stop", env=env)
    assert stop.returncode == 0, stop.stderr
    assert "Stopped" in stop.stdout
    assert node.status(settings).running is False
    assert node.stop(settings, log=lambda _m: None) is False  # harmless when not running

    after = run_cli("es", "status", env=env)
    assert after.returncode == 1
    assert [ln for ln in after.stderr.splitlines() if ln.strip()][-1].startswith("error: the local")
