"""A zero-configuration local Elasticsearch: fetch, unpack, configure, start, check and stop one node
(or a small local cluster of ``es.nodes`` nodes).

The node is Elasticsearch's integration-test distribution
(``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip``) fetched from Maven
Central with ``mvn``, unpacked under ``settings.es.home`` and run on loopback on a local JDK with a
small heap. Elasticsearch refuses to run as root, so under root it runs as the unprivileged system
user ``settings.es.run_as``; when that user cannot reach ``home`` (for example a checkout under
``/root``), the node lives under ``/var/lib/mediawatch/es-<hash>`` and ``home/location`` points there.

With ``settings.es.url`` set nothing is downloaded or started: the cluster is only checked.

Layout of a node directory (``home`` or its fallback)::

    elasticsearch-<version>/   the unpacked distribution (config/elasticsearch.yml is rendered here)
    data/  logs/               path.data and path.logs
    run/                       pid file, startup output;  tmp/  ES_TMPDIR
    node.json                  URL and ports of the last start, for ``status`` and ``stop``
    cluster/                   a local cluster (``es.nodes`` > 1), from the same distribution:
        cluster.json           size, each node's name, URL and ports
        node-<i>/config/       the node's own ES_PATH_CONF (a copy of the distribution's config/)
        node-<i>/data/ logs/ run/ tmp/

A cluster's node ``i`` (from 0) listens for HTTP on ``es.port + i``; its transport port is listed in
the others' ``discovery.seed_hosts``; ``cluster.initial_master_nodes`` is written only for the first
bootstrap (no node has cluster state yet).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.client import make_client, ping_or_raise
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, ConfigError, UserError

Log = Callable[[str], None]

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
ARTIFACT_DIR = ("org", "elasticsearch", "distribution", "integ-test-zip", "elasticsearch")
CLUSTER_NAME = "mediawatch"
NODE_NAME = "mediawatch-local"
FALLBACK_BASE = Path("/var/lib/mediawatch")
POINTER_FILE = "location"
STATE_FILE = "node.json"
CLUSTER_DIR = "cluster"
CLUSTER_STATE_FILE = "cluster.json"
JVM_DIR = Path("/usr/lib/jvm")
#: JDK feature releases Elasticsearch 8.19 runs on, best first (LTS releases before the others).
PREFERRED_JAVA = (21, 17)
SUPPORTED_JAVA = range(17, 25)
STOP_TIMEOUT = 30.0


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class NodeLayout:
    """Where one local node keeps its distribution, data, logs and run files."""

    root: Path
    version: str

    @property
    def install(self) -> Path:
        return self.root / f"elasticsearch-{self.version}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def pid_file(self) -> Path:
        return self.run / "elasticsearch.pid"

    @property
    def startup_log(self) -> Path:
        return self.run / "startup.log"

    @property
    def server_log(self) -> Path:
        return self.logs / f"{CLUSTER_NAME}.log"

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def config_dir(self) -> Path:
        """ES_PATH_CONF."""
        return self.install / "config"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "elasticsearch.yml"


@dataclass(frozen=True)
class MemberLayout(NodeLayout):
    """One node of a local cluster: its own config, data, logs and run files under ``root``; the
    distribution is shared with the single node (``distribution``)."""

    distribution: Path

    @property
    def install(self) -> Path:
        return self.distribution

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def name(self) -> str:
        return f"{CLUSTER_NAME}-{self.root.name.removeprefix('node-')}"


def member_layouts(base: NodeLayout, size: int) -> list[MemberLayout]:
    """The layouts of a local cluster's ``size`` nodes, under ``<base>/cluster/node-<i>`` (i from 1)."""
    return [MemberLayout(base.root / CLUSTER_DIR / f"node-{i + 1}", base.version, base.install) for i in range(size)]


@dataclass
class NodeStatus:
    """What ``mediawatch es status`` reports. ``managed`` is False for a cluster named by ``es.url``."""

    running: bool
    url: str
    managed: bool
    pid: int | None = None
    version: str | None = None
    health: str | None = None
    data_dir: Path | None = None
    install_dir: Path | None = None
    log_file: Path | None = None
    reason: str | None = None
    #: The nodes of a local cluster (empty for a single node or an external cluster).
    members: list[MemberStatus] = field(default_factory=list)


@dataclass
class MemberStatus:
    """One node of a local cluster, as ``status`` sees it."""

    name: str
    url: str
    running: bool
    pid: int | None
    data_dir: Path
    log_file: Path


def resolve_home(settings: Settings) -> Path:
    """``settings.es.home`` as an absolute path (relative paths are taken from the current directory)."""
    return Path(os.path.abspath(settings.es.home.expanduser()))


def untraversable_ancestor(path: Path) -> Path | None:
    """The first existing directory on the way to ``path`` that others cannot enter (no o+x), or None."""
    path = Path(os.path.abspath(path))
    for candidate in [*reversed(path.parents), path]:
        try:
            mode = candidate.stat().st_mode
        except FileNotFoundError:
            break
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return candidate
    return None


def fallback_root(home: Path, base: Path = FALLBACK_BASE) -> Path:
    """A stable directory outside ``home`` for a node whose ``home`` the service user cannot reach."""
    digest = hashlib.sha256(str(Path(os.path.realpath(home))).encode()).hexdigest()[:10]
    return base / f"es-{digest}"


def choose_root(home: Path, *, as_root: bool, base: Path = FALLBACK_BASE) -> tuple[Path, Path | None]:
    """Where the node should live: ``(home, None)``, or ``(fallback, blocking_dir)`` under root."""
    if not as_root:
        return home, None
    blocked = untraversable_ancestor(home)
    return (fallback_root(home, base), blocked) if blocked else (home, None)


def node_layout(settings: Settings) -> NodeLayout:
    """The layout in force: the one ``home/location`` points to, else ``home`` itself (reads only)."""
    home = resolve_home(settings)
    return NodeLayout(_pointed_root(home) or home, settings.es.version)


def _pointed_root(home: Path) -> Path | None:
    try:
        text = (home / POINTER_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Path(text) if text and Path(text).is_absolute() else None


# ---------------------------------------------------------------- pure helpers


def render_config(
    *,
    host: str,
    http_port: int,
    transport_port: int,
    data: Path,
    logs: Path,
    security_module: bool,
    node_name: str = NODE_NAME,
    seed_hosts: Sequence[str] = (),
    initial_master_nodes: Sequence[str] = (),
) -> str:
    """``elasticsearch.yml`` for a loopback node; disables security when the module is present.

    Without ``seed_hosts`` the node is a cluster of its own (``discovery.type: single-node``); with them
    it joins the nodes whose transport addresses they are, and ``initial_master_nodes`` (the names of
    every master-eligible node) is given for the very first start of a new cluster only.

    The integration-test distribution carries ``x-pack-security``; left enabled it would auto-generate
    TLS certificates and require a password, so a local development node switches it off.
    """
    lines = [
        "# Written by mediawatch (index/node.py) on every start; edits here are overwritten.",
        f"cluster.name: {CLUSTER_NAME}",
        f"node.name: {node_name}",
        f"network.host: {json.dumps(host)}",
        f"http.port: {http_port}",
        f"transport.port: {transport_port}",
        *(
            [f"discovery.seed_hosts: {json.dumps(list(seed_hosts))}"] if seed_hosts
            else ["discovery.type: single-node"]
        ),
        *([f"cluster.initial_master_nodes: {json.dumps(list(initial_master_nodes))}"] if initial_master_nodes else []),
        f"path.data: {json.dumps(str(data))}",
        f"path.logs: {json.dumps(str(logs))}",
        "cluster.routing.allocation.disk.threshold_enabled: false",
    ]
    if security_module:
        lines.append("xpack.security.enabled: false")
    return "\n".join(lines) + "\n"


_HEAP = re.compile(r"^[1-9][0-9]*[kmg]$")


def java_opts(heap: str) -> str:
    """``ES_JAVA_OPTS`` pinning the heap: ``-Xms<heap> -Xmx<heap>`` (equal sizes, as Elasticsearch wants)."""
    value = heap.strip().lower()
    if not _HEAP.match(value):
        raise ConfigError(f"invalid setting es.heap: {heap!r} must look like 512m or 1g")
    return f"-Xms{value} -Xmx{value}"


def java_major(java_home: Path) -> int | None:
    """The JDK feature release (17, 21, …) from ``<java_home>/release``, or None when unknown."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="?([0-9._]+)', text, re.MULTILINE)
    if not match:
        return None
    parts = match.group(1).split(".")
    major = int(parts[1]) if parts[0] == "1" and len(parts) > 1 else int(parts[0].split("_")[0])
    return major


def _has_java(java_home: Path) -> bool:
    return (java_home / "bin" / "java").is_file()


def find_java_home(
    configured: Path | None, environ: Mapping[str, str], jvm_dir: Path = JVM_DIR
) -> Path:
    """The JDK to run Elasticsearch on: ``es.java_home``, else $ES_JAVA_HOME / $JAVA_HOME when they hold a
    supported JDK, else the best JDK 21/17 (then other 17–24) under ``jvm_dir``. UserError when none.
    """
    if configured is not None:
        if not _has_java(configured):
            raise ConfigError(f"es.java_home is {configured}, which has no bin/java")
        return configured
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        value = environ.get(var)
        if value and _has_java(Path(value)) and java_major(Path(value)) in SUPPORTED_JAVA:
            return Path(value)
    candidates: dict[Path, tuple[int, int]] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(jvm_dir.iterdir()):
            major = java_major(entry)
            if major is None or major not in SUPPORTED_JAVA or not _has_java(entry):
                continue
            rank = PREFERRED_JAVA.index(major) if major in PREFERRED_JAVA else len(PREFERRED_JAVA)
            real = Path(os.path.realpath(entry))
            if real not in candidates:
                candidates[real] = (rank, -major)
    if not candidates:
        raise UserError(
            "no JDK 17 or 21 found for Elasticsearch: install one (e.g. apt-get install"
            " openjdk-17-jdk-headless) or set MEDIAWATCH_ES__JAVA_HOME"
        )
    return min(candidates, key=lambda p: (candidates[p], str(p)))


def local_maven_repository(environ: Mapping[str, str], user_home: Path) -> Path:
    """The local Maven repository ``mvn`` uses: ``-Dmaven.repo.local`` in $MAVEN_OPTS or $MAVEN_ARGS,
    else ``<localRepository>`` in ``~/.m2/settings.xml``, else ``~/.m2/repository``."""
    for var in ("MAVEN_ARGS", "MAVEN_OPTS"):
        match = re.search(r"-Dmaven\.repo\.local=(\"[^\"]+\"|\S+)", environ.get(var, ""))
        if match:
            return Path(match.group(1).strip('"')).expanduser()
    settings_xml = user_home / ".m2" / "settings.xml"
    if settings_xml.is_file():
        with contextlib.suppress(ET.ParseError, OSError):
            for element in ET.parse(settings_xml).getroot().iter():
                if element.tag.rsplit("}", 1)[-1] == "localRepository" and (element.text or "").strip():
                    text = element.text.strip().replace("${user.home}", str(user_home))
                    return Path(text).expanduser()
    return user_home / ".m2" / "repository"


def artifact_path(repository: Path, version: str) -> Path:
    """Where ``mvn dependency:get`` leaves the integration-test zip for ``version``."""
    return repository.joinpath(*ARTIFACT_DIR, version, f"elasticsearch-{version}.zip")


def summarize_log(lines: Iterable[str], limit: int = 3) -> str:
    """The few lines of Elasticsearch output that explain a failure, joined on one line."""
    cleaned = [
        re.sub(r"^\[[^\]]*\]\[(\w+)\s*\]\[[^\]]*\]\s*(\[[^\]]*\]\s*)?", r"\1 ", line.strip())
        for line in lines
        if line.strip() and not line.lstrip().startswith("at ")
    ]
    important = [
        line for line in cleaned if re.search(r"\b(ERROR|FATAL)\b|Exception|error:|died", line)
    ]
    picked = (important or cleaned)[-limit:]
    return " | ".join(line[:300] for line in picked)


def port_in_use(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _can_bind(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_transport_port(host: str, http_port: int) -> int:
    """``http_port + 100`` when free (9300 for 9200), else any free port on ``host``."""
    preferred = http_port + 100
    if preferred <= 65535 and _can_bind(host, preferred):
        return preferred
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- processes and HTTP


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child of a non-reaping init stays a zombie: count it as gone
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_our_node(pid: int, install: Path) -> bool:
    """Whether ``pid`` is alive and is the Elasticsearch server running from ``install``."""
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return True  # no /proc: trust the pid file
    homes = {str(install), os.path.realpath(install)}
    return any(f"-Des.path.home={home}" in cmdline for home in homes)


def _read_pid(layout: NodeLayout) -> int | None:
    try:
        return int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _live_pid(layout: NodeLayout) -> int | None:
    pid = _read_pid(layout)
    return pid if pid is not None and _is_our_node(pid, layout.install) else None


def _get_json(url: str, timeout: float = 3.0) -> dict | None:
    """GET ``url`` and decode JSON; None on any connection, HTTP or decoding failure."""
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
                data = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:  # e.g. 408 from a health wait: the body still says why
            with exc:
                data = json.loads(exc.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _health(url: str, wait: str | None = None) -> dict | None:
    query = f"?wait_for_status=yellow&timeout={wait}" if wait else ""
    body = _get_json(f"{url}/_cluster/health{query}", timeout=5.0)
    return body if body and "status" in body else None


def _local_node_info(url: str) -> dict | None:
    """Version, ``path.home`` and process id of the node answering at ``url`` (None if not Elasticsearch)."""
    body = _get_json(
        f"{url}/_nodes/_local/settings,process"
        "?filter_path=cluster_name,nodes.*.version,nodes.*.settings.path.home,nodes.*.process.id"
    )
    nodes = (body or {}).get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        return None
    node = next(iter(nodes.values()))
    return {
        "cluster_name": body.get("cluster_name"),
        "version": node.get("version"),
        "path_home": ((node.get("settings") or {}).get("path") or {}).get("home"),
        "pid": (node.get("process") or {}).get("id"),
    }


def _read_state(layout: NodeLayout) -> dict:
    try:
        state = json.loads(layout.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


# ---------------------------------------------------------------- provisioning


def fetch_distribution(
    version: str, *, log: Log = print, environ: Mapping[str, str] | None = None, user_home: Path | None = None
) -> Path:
    """Path of the integration-test zip in the local Maven repository, running ``mvn dependency:get``
    only when it is not there yet. UserError (one line) when ``mvn`` is missing or the download fails."""
    env = dict(os.environ if environ is None else environ)
    repository = local_maven_repository(env, user_home or _maven_user_home())
    path = artifact_path(repository, version)
    if path.is_file():
        return path
    mvn = shutil.which("mvn", path=env.get("PATH"))
    if mvn is None:
        raise UserError(
            f"Elasticsearch {version} is not in the local Maven repository ({repository}) and `mvn` is not"
            " installed: install Maven (e.g. apt-get install maven) or set MEDIAWATCH_ES_URL to an existing"
            " cluster"
        )
    log(f"Downloading Elasticsearch {version} (integration-test distribution, ~100 MB) with mvn, once…")
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "dependency:get",
           f"-Dartifact={ARTIFACT.format(version=version)}", "-Dtransitive=false"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        output = _ANSI.sub("", proc.stdout + proc.stderr)
        ok = proc.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        output, ok = str(exc), False
    if not ok or not path.is_file():
        errors = [ln.removeprefix("[ERROR]").strip() for ln in output.splitlines() if "[ERROR]" in ln]
        reason = next((e for e in errors if e), None) or summarize_log(output.splitlines(), 1) or "no output"
        if missing := re.search(r"Could not (?:find|transfer) artifact \S+.*", reason):
            reason = missing.group(0)
        raise UserError(
            f"could not download Elasticsearch {version} with mvn: {reason[:300]} — check access to Maven"
            " Central, or set MEDIAWATCH_ES_URL to an existing cluster"
        )
    return path


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _maven_user_home() -> Path:
    """Maven's ``user.home``: Java takes it from the password database, not from $HOME."""
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        return Path.home()


def unpack(archive: Path, layout: NodeLayout, *, log: Log = print) -> Path:
    """Unpack the distribution into ``layout.install`` unless it is already there; keeps file modes."""
    install = layout.install
    if (install / "bin" / "elasticsearch").is_file():
        return install
    log(f"Unpacking Elasticsearch {layout.version} into {install}…")
    layout.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=layout.root))
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = os.path.realpath(staging / info.filename)
                if not target.startswith(os.path.realpath(staging) + os.sep):
                    raise UserError(f"refusing to unpack {archive}: {info.filename!r} escapes the target")
                zf.extract(info, staging)
                mode = (info.external_attr >> 16) & 0o7777
                if mode:
                    os.chmod(target, mode)
        unpacked = staging / f"elasticsearch-{layout.version}"
        if not (unpacked / "bin" / "elasticsearch").is_file():
            raise UserError(f"{archive} does not look like an Elasticsearch {layout.version} distribution")
        if install.exists():
            shutil.rmtree(install)
        unpacked.rename(install)
    except zipfile.BadZipFile as exc:
        raise UserError(f"the Elasticsearch archive {archive} is damaged ({exc}); delete it, retry") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return install


def ensure_service_user(name: str, *, log: Log = print) -> pwd.struct_passwd:
    """The unprivileged system account Elasticsearch runs as under root; created with useradd if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
    if useradd is None:
        raise UserError(
            f"Elasticsearch cannot run as root and user {name!r} does not exist; create it (useradd) or run"
            " mediawatch as an unprivileged user"
        )
    shell = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false")
    proc = subprocess.run(
        [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", shell, name],
        capture_output=True, text=True,
    )
    if proc.returncode != 0 and proc.returncode != 9:  # 9: created concurrently
        reason = " ".join(proc.stderr.split()) or f"exit code {proc.returncode}"
        raise UserError(f"could not create system user {name!r} for Elasticsearch: {reason}")
    log(f"Created system user {name} to run Elasticsearch (it refuses to run as root).")
    return pwd.getpwnam(name)


def _chown_tree(path: Path, uid: int, gid: int, *, force: bool = False) -> None:
    st = path.stat()
    if not force and st.st_uid == uid and st.st_gid == gid:
        return
    os.chown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _prepare_root(settings: Settings, *, as_root: bool, log: Log) -> NodeLayout:
    """Pick (and remember) the node directory; the fallback is used only when the service user is blocked."""
    home = resolve_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    pointed = _pointed_root(home)
    if pointed is not None:
        return NodeLayout(pointed, settings.es.version)
    root, blocked = choose_root(home, as_root=as_root)
    if blocked is not None:
        FALLBACK_BASE.mkdir(parents=True, exist_ok=True)
        os.chmod(FALLBACK_BASE, 0o755)
        (home / POINTER_FILE).write_text(f"{root}\n", encoding="utf-8")
        log(
            f"{blocked} is closed to user {settings.es.run_as}, so the local node lives in {root}"
            f" (recorded in {home / POINTER_FILE})."
        )
    return NodeLayout(root, settings.es.version)


# ---------------------------------------------------------------- public API


def ensure_started(settings: Settings, *, log: Log = print) -> str:
    """Return the URL of a reachable cluster, provisioning and starting the local node if needed.

    With ``es.url`` set only checks that cluster (ClusterUnavailable otherwise). With ``es.nodes`` > 1
    starts a local cluster instead (:func:`ensure_cluster_started`) and returns its URLs, comma-separated.
    Idempotent: when the local node already runs it returns its URL at once. Every failure is a one-line
    UserError.
    """
    es = settings.es
    if not es.local:
        url = str(es.url)
        ping_or_raise(make_client(settings), url)
        return url
    if es.nodes > 1:
        return ensure_cluster_started(settings, log=log)

    as_root = os.geteuid() == 0
    layout = _prepare_root(settings, as_root=as_root, log=log)
    url = es.effective_url
    if running := _live_members(layout):
        raise UserError(
            f"a local cluster of {len(member_layouts(layout, _cluster_size(layout)))} nodes runs from {layout.root}"
            f" ({', '.join(m.name for m in running)}): stop it with `mediawatch es stop`, or set"
            " MEDIAWATCH_ES__NODES to its size to use it"
        )
    pid = _live_pid(layout)
    if pid is not None:
        running_url = _read_state(layout).get("url") or url
        if running_url != url:
            log(f"The local node already runs at {running_url}; stop it to apply the new host/port.")
        _wait_until_ready(running_url, layout, es.start_timeout, log=log, launcher=None)
        return running_url

    if port_in_use(es.host, es.port):
        info = _local_node_info(url)
        if info and info.get("path_home") in {str(layout.install), os.path.realpath(layout.install)}:
            if info.get("pid"):  # our node, pid file lost: adopt it
                layout.pid_file.write_text(f"{info['pid']}\n")
            return url
        what = "another Elasticsearch (not the mediawatch node)" if info else "another program"
        raise UserError(
            f"port {es.port} on {es.host} is already used by {what}: set MEDIAWATCH_ES__PORT to a free port,"
            " or MEDIAWATCH_ES_URL to use that cluster"
        )

    runtime = _provision(settings, layout, as_root=as_root, log=log)
    install = runtime.install
    transport_port = pick_transport_port(es.host, es.port)
    certs = install / "config" / "certs"
    if certs.exists():  # left by security auto-configuration of an earlier, unconfigured start
        shutil.rmtree(certs)
        (install / "config" / "elasticsearch.keystore").unlink(missing_ok=True)
    layout.config_file.write_text(
        render_config(
            host=es.host, http_port=es.port, transport_port=transport_port, data=layout.data,
            logs=layout.logs, security_module=runtime.security_module,
        ),
        encoding="utf-8",
    )
    if runtime.account is not None:
        uid, gid = runtime.account.pw_uid, runtime.account.pw_gid
        _chown_tree(install, uid, gid, force=True)
        for directory in (layout.data, layout.logs, layout.run, layout.tmp):
            _chown_tree(directory, uid, gid)
    layout.pid_file.unlink(missing_ok=True)
    layout.state_file.write_text(
        json.dumps(
            {"url": url, "http_port": es.port, "transport_port": transport_port, "version": es.version,
             "install": str(install), "java_home": str(runtime.java_home)},
            indent=2,
        ) + "\n",
        encoding="utf-8",
    )
    who = f" as user {es.run_as}" if runtime.account else ""
    log(f"Starting Elasticsearch {es.version} on {url}{who} (JDK {runtime.java_home}, heap {es.heap})…")
    launcher = _spawn(layout, runtime)
    try:
        _wait_until_ready(url, layout, es.start_timeout, log=log, launcher=launcher)
    except BaseException:
        _abandon(layout, launcher)
        raise
    return url


@dataclass(frozen=True)
class _Runtime:
    """What every node started from one distribution shares: the JDK, heap options, install, account."""

    java_home: Path
    opts: str
    install: Path
    account: pwd.struct_passwd | None
    security_module: bool


def _provision(settings: Settings, layout: NodeLayout, *, as_root: bool, log: Log) -> _Runtime:
    """Find the JDK, check the heap, fetch and unpack the distribution, and the service account under root."""
    es = settings.es
    java_home = find_java_home(es.java_home, os.environ)
    opts = java_opts(es.heap)
    archive = fetch_distribution(es.version, log=log)
    install = unpack(archive, layout, log=log)
    account = ensure_service_user(es.run_as, log=log) if as_root else None
    if account is not None and (blocked := untraversable_ancestor(java_home)) is not None:
        raise UserError(
            f"the JDK at {java_home} is inside {blocked}, which user {es.run_as} cannot enter: point"
            " MEDIAWATCH_ES__JAVA_HOME at a JDK under /usr/lib/jvm"
        )
    for directory in (layout.data, layout.logs, layout.run, layout.tmp):
        directory.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o755)
    return _Runtime(java_home, opts, install, account, (install / "modules" / "x-pack-security").is_dir())


def _spawn(layout: NodeLayout, runtime: _Runtime) -> subprocess.Popen:
    """Start ``bin/elasticsearch -d`` for ``layout`` (its config dir as ES_PATH_CONF); the launcher exits
    once the server runs, leaving the server's pid in ``layout.pid_file``."""
    account = runtime.account
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(layout.root) if account else os.environ.get("HOME", str(layout.root)),
        "ES_JAVA_HOME": str(runtime.java_home),
        "ES_JAVA_OPTS": runtime.opts,
        "ES_PATH_CONF": str(layout.config_dir),
        "ES_TMPDIR": str(layout.tmp),
    }
    user_kwargs: dict = (
        {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}
    )
    with layout.startup_log.open("wb") as out:
        return subprocess.Popen(
            [str(runtime.install / "bin" / "elasticsearch"), "-d", "-p", str(layout.pid_file)],
            cwd=layout.logs, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, **user_kwargs,
        )


def _abandon(layout: NodeLayout, launcher: subprocess.Popen) -> None:
    """Stop a node whose start failed, with its launcher."""
    _terminate(layout, log=lambda _msg: None, timeout=10.0)
    # The launcher and a server that never wrote its pid file share the session started above.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(launcher.pid, signal.SIGKILL)
    launcher.wait()


# ---------------------------------------------------------------- a local cluster


def _cluster_root(base: NodeLayout) -> Path:
    return base.root / CLUSTER_DIR


def _read_cluster_state(base: NodeLayout) -> dict:
    try:
        state = json.loads((_cluster_root(base) / CLUSTER_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and isinstance(state.get("nodes"), list) else {}


def _cluster_size(base: NodeLayout) -> int:
    """How many nodes the local cluster under ``base`` was made with (0: none)."""
    return len(_read_cluster_state(base).get("nodes", []))


def _live_members(base: NodeLayout) -> list[MemberLayout]:
    return [m for m in member_layouts(base, _cluster_size(base)) if _live_pid(m) is not None]


def _has_cluster_state(member: MemberLayout) -> bool:
    """Whether the node has joined a cluster before (its data holds cluster metadata)."""
    return (member.data / "_state").is_dir()


def _copy_config(member: MemberLayout, install: Path) -> None:
    """The node's own ES_PATH_CONF: a fresh copy of the distribution's config/ (no TLS leftovers)."""
    shutil.rmtree(member.config_dir, ignore_errors=True)
    shutil.copytree(install / "config", member.config_dir, ignore=shutil.ignore_patterns("certs", "elasticsearch.yml"))


def ensure_cluster_started(settings: Settings, *, log: Log = print) -> str:
    """Start the nodes of the local ``es.nodes``-node cluster that are not running, wait until all have
    joined and the cluster is at least yellow, and return every node's URL, comma-separated.

    Same distribution, JDK, heap (each) and service account as the single node. A node killed or
    stopped is started again on its data and ports (and rejoins). Every failure is a one-line UserError.
    """
    es = settings.es
    size = es.nodes
    as_root = os.geteuid() == 0
    base = _prepare_root(settings, as_root=as_root, log=log)
    if _live_pid(base) is not None:
        raise UserError(
            f"the single local node runs from {base.root}: stop it with `mediawatch es stop` before starting a"
            f" {size}-node cluster there (or set MEDIAWATCH_ES__HOME to another directory)"
        )
    state = _read_cluster_state(base)
    made = len(state.get("nodes", []))
    members = member_layouts(base, size)
    if made and made != size and any(_has_cluster_state(m) for m in member_layouts(base, made)):
        raise UserError(
            f"the local cluster in {_cluster_root(base)} was made with {made} nodes: start it with --nodes {made}"
            f" (MEDIAWATCH_ES__NODES={made}), or delete that directory to make a new {size}-node cluster"
        )
    live = {i for i, m in enumerate(members) if _live_pid(m) is not None}
    recorded = state.get("nodes", []) if made == size else []
    if live and recorded:  # running nodes keep the ports they were started with
        http_ports = [int(n["http_port"]) for n in recorded]
    else:
        http_ports = [es.port + i for i in range(size)]
    if http_ports[-1] > 65535:
        raise UserError(f"es.port {es.port} leaves no room for {size} HTTP ports: choose a lower MEDIAWATCH_ES__PORT")
    urls = [f"http://{es.host}:{p}" for p in http_ports]
    joined = ",".join(urls)
    if len(live) == size:
        _wait_cluster_ready(urls, members, {}, es.start_timeout, log=log)
        return joined

    for i, member in enumerate(members):
        if i not in live and port_in_use(es.host, http_ports[i]):
            raise UserError(
                f"port {http_ports[i]} on {es.host} (HTTP of node {member.name}) is already used by another program:"
                f" set MEDIAWATCH_ES__PORT to the first of {size} free ports"
            )
    transport_ports: list[int] = []
    for i in range(size):
        previous = int(recorded[i]["transport_port"]) if recorded else 0
        if previous and (i in live or (_can_bind(es.host, previous) and previous not in transport_ports)):
            transport_ports.append(previous)
            continue
        port = pick_transport_port(es.host, http_ports[i])
        while port in transport_ports or port in http_ports:
            port = pick_transport_port(es.host, 0)
        transport_ports.append(port)

    runtime = _provision(settings, base, as_root=as_root, log=log)
    bootstrap = not any(_has_cluster_state(m) for m in members)
    host = f"[{es.host}]" if ":" in es.host else es.host
    seeds = [f"{host}:{p}" for p in transport_ports]
    names = [m.name for m in members]
    to_start = [i for i in range(size) if i not in live]
    for i in to_start:
        member = members[i]
        for directory in (member.data, member.logs, member.run, member.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        _copy_config(member, runtime.install)
        member.config_file.write_text(
            render_config(
                host=es.host, http_port=http_ports[i], transport_port=transport_ports[i], data=member.data,
                logs=member.logs, security_module=runtime.security_module, node_name=member.name,
                seed_hosts=[s for j, s in enumerate(seeds) if j != i],
                initial_master_nodes=names if bootstrap else (),
            ),
            encoding="utf-8",
        )
        os.chmod(member.root, 0o755)
        if runtime.account is not None:
            _chown_tree(member.root, runtime.account.pw_uid, runtime.account.pw_gid, force=True)
        member.pid_file.unlink(missing_ok=True)
    os.chmod(_cluster_root(base), 0o755)
    if runtime.account is not None:
        _chown_tree(runtime.install, runtime.account.pw_uid, runtime.account.pw_gid)
    (_cluster_root(base) / CLUSTER_STATE_FILE).write_text(
        json.dumps(
            {"version": es.version, "install": str(runtime.install), "java_home": str(runtime.java_home),
             "nodes": [{"name": names[i], "url": urls[i], "http_port": http_ports[i],
                        "transport_port": transport_ports[i]} for i in range(size)]},
            indent=2,
        ) + "\n",
        encoding="utf-8",
    )
    who = f" as user {es.run_as}" if runtime.account else ""
    what = "a new cluster of" if bootstrap else "cluster"
    log(
        f"Starting {', '.join(names[i] for i in to_start)} of {what} {size} Elasticsearch {es.version} nodes"
        f" on {joined}{who} (JDK {runtime.java_home}, heap {es.heap} each)…"
    )
    launchers = {i: _spawn(members[i], runtime) for i in to_start}
    try:
        _wait_cluster_ready(urls, members, launchers, es.start_timeout, log=log)
    except BaseException:
        threads = [threading.Thread(target=_abandon, args=(members[i], launcher)) for i, launcher in launchers.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        raise
    return joined


def _wait_cluster_ready(
    urls: Sequence[str], members: Sequence[MemberLayout], launchers: Mapping[int, subprocess.Popen],
    timeout: float, *, log: Log,
) -> dict:
    """Poll until every node has joined and the cluster is yellow or green; one-line UserError otherwise."""
    size = len(members)
    started = time.monotonic()
    next_note = 10.0
    last = "no answer on HTTP"
    if launchers:
        log(f"Waiting for {size} nodes to join and report yellow health (up to {timeout:.0f} s)…")
    while True:
        for i, launcher in launchers.items():
            code = launcher.poll()
            if code not in (None, 0):
                raise UserError(
                    f"Elasticsearch node {members[i].name} failed to start (exit code {code}):"
                    f" {_failure_reason(members[i])}"
                )
            if code == 0 and _live_pid(members[i]) is None:
                raise ClusterUnavailable(
                    f"Elasticsearch node {members[i].name} stopped: {_failure_reason(members[i])}"
                )
        for url in urls:
            body = _get_json(f"{url}/_cluster/health?wait_for_nodes={size}&wait_for_status=yellow&timeout=1s",
                             timeout=5.0)
            if not body or not isinstance(body.get("status"), str):
                continue
            nodes = int(body.get("number_of_nodes") or 0)
            last = f"{nodes} of {size} nodes joined, health {body['status']}"
            if nodes >= size and body["status"] in ("yellow", "green"):
                if launchers:
                    log(f"The {size}-node cluster is up ({body['status']}) after {time.monotonic() - started:.0f} s.")
                return body
            break
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            lagging = next((m for m in members if _live_pid(m) is None), members[0])
            raise UserError(
                f"the local Elasticsearch cluster was not ready within {timeout:.0f} s ({last}):"
                f" {_failure_reason(lagging)}"
            )
        if elapsed >= next_note:
            log(f"Still waiting for the cluster ({elapsed:.0f} s, {last})…")
            next_note += 10.0
        time.sleep(0.5)


def _wait_until_ready(
    url: str, layout: NodeLayout, timeout: float, *, log: Log, launcher: subprocess.Popen | None
) -> dict:
    """Poll ``_cluster/health`` until yellow/green; UserError with the log's last words on failure."""
    started = time.monotonic()
    next_note = 10.0
    last_status = None
    if launcher is not None:
        log(f"Waiting for the node to report yellow health (up to {timeout:.0f} s)…")
    while True:
        code = launcher.poll() if launcher is not None else None
        if code not in (None, 0):
            raise UserError(f"Elasticsearch failed to start (exit code {code}): {_failure_reason(layout)}")
        health = _health(url, wait="1s")
        last_status = health.get("status") if health else last_status
        if last_status in ("yellow", "green"):
            if launcher is not None:
                log(f"Elasticsearch is up ({last_status}) after {time.monotonic() - started:.0f} s.")
            return health or {}
        if code == 0 or launcher is None:  # the launcher returns once the server runs
            if _live_pid(layout) is None:
                raise ClusterUnavailable(f"the local Elasticsearch node stopped: {_failure_reason(layout)}")
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            state = f"cluster health is {last_status}" if last_status else "no answer on HTTP"
            raise UserError(
                f"Elasticsearch did not become ready within {timeout:.0f} s ({state}):"
                f" {_failure_reason(layout)}"
            )
        if elapsed >= next_note:
            log(f"Still waiting for Elasticsearch ({elapsed:.0f} s)…")
            next_note += 10.0
        time.sleep(0.5)


def _failure_reason(layout: NodeLayout) -> str:
    for path in (layout.startup_log, layout.server_log):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-200:]
        except OSError:
            continue
        if summary := summarize_log(lines):
            return f"{summary} (log: {path})"
    return f"no output (see {layout.logs})"


def status(settings: Settings) -> NodeStatus:
    """Whether the configured cluster (``es.url``) or the local node is running, and how it is doing."""
    es = settings.es
    if not es.local:
        url = str(es.url)
        try:
            client = make_client(settings)
            health = ping_or_raise(client, url)
        except UserError as exc:
            return NodeStatus(running=False, url=url, managed=False, reason=str(exc))
        version = None
        with contextlib.suppress(Exception):
            nodes = client.nodes.info(node_id="_local", filter_path="nodes.*.version").body["nodes"]
            version = next(iter(nodes.values()))["version"]
        return NodeStatus(running=True, url=url, managed=False, version=version, health=health.get("status"))

    layout = node_layout(settings)
    cluster_only = _cluster_size(layout) and not layout.state_file.exists()  # no single node was ever started
    if es.nodes > 1 or (_live_pid(layout) is None and (_live_members(layout) or cluster_only)):
        return _cluster_status(settings, layout)
    url = _read_state(layout).get("url") or es.effective_url
    result = NodeStatus(
        running=False, url=url, managed=True, data_dir=layout.data, install_dir=layout.install,
        log_file=layout.server_log,
    )
    pid = _live_pid(layout)
    if pid is None:
        result.reason = "the local Elasticsearch node is not running (start it with `mediawatch es start`)"
        return result
    result.running, result.pid = True, pid
    health = _health(url)
    info = _local_node_info(url)
    result.health = health.get("status") if health else None
    result.version = info.get("version") if info else None
    if health is None:
        result.reason = "the process runs but does not answer HTTP yet (starting, or stuck: see the log)"
    return result


def _cluster_status(settings: Settings, layout: NodeLayout) -> NodeStatus:
    """``status`` of the local cluster under ``layout``: every node's process, the cluster's health."""
    recorded = _read_cluster_state(layout).get("nodes", [])
    size = len(recorded) or settings.es.nodes
    urls = [str(n.get("url")) for n in recorded] if recorded else settings.es.effective_url.split(",")
    result = NodeStatus(
        running=False, url=",".join(urls), managed=True, data_dir=_cluster_root(layout), install_dir=layout.install,
    )
    for member, url in zip(member_layouts(layout, size), urls, strict=True):
        pid = _live_pid(member)
        result.members.append(MemberStatus(member.name, url, pid is not None, pid, member.data, member.server_log))
    up = [m for m in result.members if m.running]
    down = [m.name for m in result.members if not m.running]
    if not up:
        result.reason = (
            f"the local Elasticsearch cluster is not running (start it with `mediawatch es start --nodes {size}`)"
        )
        return result
    result.running = True
    for member in up:
        if (health := _health(member.url)) is not None:
            info = _local_node_info(member.url)
            result.health = health.get("status")
            result.version = info.get("version") if info else None
            break
    if result.health is None:
        result.reason = "the processes run but no node answers HTTP yet (starting, or stuck: see the logs)"
    elif down:
        result.reason = (
            f"{len(down)} of {size} nodes down ({', '.join(down)}): start them again with"
            f" `mediawatch es start --nodes {size}`"
        )
    return result


def stop(settings: Settings, *, log: Log = print, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the local node, or every node of the local cluster (SIGTERM, then SIGKILL after ``timeout``).
    False when nothing was running."""
    if not settings.es.local:
        log(f"es.url points at an external cluster ({settings.es.url}); mediawatch does not stop it.")
        return False
    layout = node_layout(settings)
    stopped = _terminate(layout, log=log, timeout=timeout)
    members = _live_members(layout)
    threads = [
        threading.Thread(target=_terminate, args=(m,), kwargs={"log": log, "timeout": timeout, "what": m.name})
        for m in members
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stopped or bool(members)


def _terminate(layout: NodeLayout, *, log: Log, timeout: float, what: str = "Elasticsearch") -> bool:
    pid = _live_pid(layout)
    if pid is None:
        layout.pid_file.unlink(missing_ok=True)
        return False
    log(f"Stopping {what} (pid {pid})…")
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if not _alive(pid):
            break
        if sig == signal.SIGTERM:
            log(f"{what} did not stop within {timeout:.0f} s; killing it.")
    with contextlib.suppress(OSError):
        layout.pid_file.unlink(missing_ok=True)
    return True
