"""The one settings object: defaults < config file (TOML) < ``MEDIAWATCH_*`` environment variables.

The config file is ``$MEDIAWATCH_CONFIG`` when set, else ``./mediawatch.toml`` when it exists.
Nested sections use ``__`` in environment variables: ``MEDIAWATCH_ES__URL=https://es:9200``.
List settings also take a comma-separated value (``MEDIAWATCH_ENRICH__MODEL_LANGUAGES=vi,en``) besides
JSON (``["vi","en"]``); mapping settings take a JSON object.

Every setting is checked when loaded (time zones, positive numbers, ranges, unknown keys);
:func:`load_settings` turns the first problem into one :class:`ConfigError` line naming the setting
and where its value came from.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from mediawatch.errors import ConfigError

DEFAULT_CONFIG_FILE = "mediawatch.toml"
ENV_PREFIX = "MEDIAWATCH_"


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone (``Asia/Ho_Chi_Minh``, ``UTC``); else ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Ho_Chi_Minh or UTC") from None
    return value


def _list_from_text(value: Any) -> Any:
    """A list setting given as text (environment): JSON ``["vi","en"]`` or comma-separated ``vi,en``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a JSON list; write vi,en or [\"vi\",\"en\"]") from None
    return [part.strip() for part in text.split(",") if part.strip()]


def _mapping_from_text(value: Any) -> Any:
    """A mapping setting given as text (environment): a JSON object."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a JSON object; write {{\"label\": \"words\", ...}}") from None


TextList = Annotated[list[str], NoDecode, BeforeValidator(_list_from_text)]
TextMapping = Annotated[dict[str, str], NoDecode, BeforeValidator(_mapping_from_text)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_INDEX_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class _Section(BaseModel):
    """A ``[section]`` of settings: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ElasticsearchSettings(_Section):
    """Where the store lives. With ``url`` unset, a local node (or ``nodes`` of them) runs under ``home``."""

    # One URL, or several comma-separated (nodes of one cluster: the client fails over between them).
    url: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    request_timeout: Positive = 30.0
    # Local node (used only when ``url`` is unset).
    version: str = "8.19.7"
    home: Path = Path(".mediawatch/es")
    host: str = "127.0.0.1"
    port: int = Field(default=9200, ge=1, le=65535)
    # Nodes of the local cluster: 1 is the single node; more listen on HTTP ports port, port+1, ...
    nodes: int = Field(default=1, ge=1, le=9)
    heap: str = "512m"
    java_home: Path | None = None
    run_as: str = "mediawatch-es"
    start_timeout: Positive = 180.0

    @field_validator("heap")
    @classmethod
    def _heap_at_most_1g(cls, value: str) -> str:
        units = {"k": 1 / (1024 * 1024), "m": 1 / 1024, "g": 1.0}
        v = value.strip().lower()
        if not v or v[-1] not in units or not v[:-1].isdigit():
            raise ValueError("heap must look like 512m or 1g")
        if int(v[:-1]) * units[v[-1]] > 1.0:
            raise ValueError("heap must be at most 1g for the local node")
        if int(v[:-1]) == 0:
            raise ValueError("heap must be more than 0, e.g. 512m")
        return v

    @property
    def local(self) -> bool:
        return not self.url

    @property
    def effective_url(self) -> str:
        """``url``, else the local node's URL (every node's, comma-separated, for a local cluster)."""
        return self.url or ",".join(f"http://{self.host}:{self.port + i}" for i in range(self.nodes))


class IndexSettings(_Section):
    prefix: str = "mediawatch"
    shards: int = Field(default=1, ge=1, le=1024)
    # Unset: one replica when the cluster has more than one node, none on a single node (auto_expand 0-1).
    replicas: int | None = Field(default=None, ge=0)
    bulk_batch_size: int = Field(default=200, ge=1)
    # Retention (index.retention): documents older than this many days (publish time, else first crawl) are
    # deleted by `mediawatch prune` and, once a day at retention_schedule, by `mediawatch schedule run`.
    retention_days: int | None = Field(default=None, ge=1)
    # When the scheduler prunes: a five-field cron expression in crawl.timezone (default 02:30 local time).
    retention_schedule: str = "30 2 * * *"
    # Writes the cluster could not take are spooled under data_dir/spool/<prefix>/ and replayed by the
    # next crawl; past this many bytes the crawl stops (with a clear message) instead of dropping.
    spool_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    # Pages handed to the writer thread and not yet written: past this the crawl waits (back-pressure).
    writer_queue: int = Field(default=256, ge=1)
    # How long writers wait on an index held read-only by `mediawatch index migrate` before spooling.
    migration_wait_seconds: NonNegative = 600.0

    @field_validator("retention_schedule")
    @classmethod
    def _retention_schedule_is_cron(cls, value: str) -> str:
        from cronsim import CronSim, CronSimError

        if len(value.split()) != 5:
            raise ValueError(f"not a five-field cron expression such as '30 2 * * *': {value!r}")
        try:
            CronSim(value, datetime(2000, 1, 1))
        except CronSimError as exc:
            raise ValueError(f"not a valid cron expression {value!r} ({exc})") from None
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_is_an_index_name(cls, value: str) -> str:
        if not _INDEX_PREFIX.match(value) or len(value) > 200:
            raise ValueError(
                f"{value!r} cannot start an Elasticsearch index name; use lower-case letters, digits, '-', '_' or '.'"
            )
        return value


class CrawlSettings(_Section):
    sources_file: Path = Path("sources.yaml")
    user_agent: str = "mediawatch/0.1 (+https://github.com/mediawatch/mediawatch; public news monitoring)"
    obey_robots: bool = True
    download_delay: NonNegative = 0.5
    concurrency_per_domain: int = Field(default=2, ge=1)
    autothrottle: bool = True
    max_page_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    timeout: Positive = 30.0
    # The zone dates are read, filtered (search --from/--to, "today") and shown in.
    timezone: Annotated[str, AfterValidator(check_timezone)] = "Asia/Ho_Chi_Minh"
    # Revisit policy (adaptive, per page): a newly seen page is due again after revisit_after_hours;
    # each fetch that finds it changed halves its interval, each that finds it unchanged doubles it,
    # always within [revisit_min_hours, revisit_max_hours] (the bounds also apply to stored intervals,
    # so lowering revisit_max_hours makes known pages due sooner; 0 revisits everything).
    revisit_after_hours: NonNegative = 24.0
    revisit_min_hours: NonNegative = 1.0
    revisit_max_hours: NonNegative = 24.0 * 14
    # Hosts the crawler and "fetch this URL" may reach although they are loopback, private or link-local
    # (IP addresses, networks like 10.1.0.0/16, or host names); empty: none (the SSRF guard,
    # crawlers.netguard). The tests and the demo allow 127.0.0.1 for the local test site.
    allow_private_hosts: TextList = []
    # Bounds against hostile sites: sitemaps followed per crawl (a sitemap index may list thousands), and
    # links taken from one page, feed or sitemap (the rest are counted and left).
    max_sitemaps: int = Field(default=1000, ge=1, le=1_000_000)
    max_links_per_page: int = Field(default=20_000, ge=1, le=10_000_000)
    # A run whose failed fetches (network errors, HTTP 5xx, refused redirects) exceed this share of
    # its requests is reported "degraded".
    max_error_share: float = Field(default=0.1, ge=0, le=1, allow_inf_nan=False)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "enrich" / "models"


class EnrichSettings(_Section):
    """Tagging models: a local directory or a Hugging Face hub id each; packaged offline defaults."""

    enabled: bool = True
    topic_model: str = str(PACKAGED_MODELS / "topic-vntc")
    sentiment_model: str = str(PACKAGED_MODELS / "sentiment-mix")
    # Languages the configured models were trained for; others get topic/sentiment "unknown".
    model_languages: TextList = ["vi"]
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    batch_size: int = Field(default=32, ge=1)
    # CPU inference threads, each running whole batches on one core (a small model keeps the cores
    # busier that way than one batch at a time on torch's threads); 0: one per core, at most 8.
    # 1: one batch at a time on torch's threads. On a GPU, batches run one at a time regardless.
    workers: int = Field(default=0, ge=0, le=64)
    max_length: int = Field(default=256, ge=8, le=8192)
    # Windows of an article the topic model reads (title + consecutive max_length-token windows,
    # predictions averaged); unset: what the model's config records (the shipped model: 8). 1 = lead only.
    topic_chunks: int | None = Field(default=None, ge=1, le=32)
    # Topic "unknown" instead of a forced section: for a text (title aside) of fewer words than this (a
    # one-line forum post carries no news topic), and when the top calibrated topic probability is below
    # topic_min_confidence (0 turns either check off).
    topic_min_words: int = Field(default=25, ge=0)
    topic_min_confidence: float = Field(default=0.4, ge=0, le=1, allow_inf_nan=False)
    # Zero-shot topics: when set, topic_model is a (multilingual) NLI model and these are the topics,
    # label -> the words put into the hypothesis, e.g. {"politics_society": "chính trị, xã hội"}.
    topic_labels: TextMapping = {}
    topic_hypothesis: str = "This text is about {}."
    # Near-duplicate stories: MinHash over word shingles; Jaccard at or above this joins a story.
    story_threshold: float = Field(default=0.6, gt=0, le=1, allow_inf_nan=False)
    models_dir: Path = Path(".mediawatch/models")  # where `mediawatch models pull` stores downloads

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not _DEVICE.match(value):
            raise ValueError(f"{value!r} is not a device; use auto, cpu, cuda, cuda:N or mps")
        return value

    @field_validator("model_languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        bad = [code for code in codes if not (len(code) == 2 and code.isascii() and code.isalpha())]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a two-letter language code such as vi or en")
        return codes

    @field_validator("topic_hypothesis")
    @classmethod
    def _hypothesis_has_a_slot(cls, value: str) -> str:
        if value.count("{}") != 1:
            raise ValueError("topic_hypothesis must contain {} once, where the topic's words go")
        return value

    @field_validator("topic_labels")
    @classmethod
    def _labels_have_words(cls, value: dict[str, str]) -> dict[str, str]:
        empty = [label for label, words in value.items() if not label.strip() or not words.strip()]
        if empty:
            raise ValueError(f"topic_labels: empty label or words for {empty[0]!r}")
        return value


class AlertSettings(_Section):
    """How keyword alerts reach people: the SMTP server for e-mail, webhooks, retries, and links back."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False  # upgrade with STARTTLS after connecting (port 587 on real servers)
    smtp_ssl: bool = False  # implicit TLS from the start (port 465)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: Positive = 30.0
    smtp_ca_certs: Path | None = None  # a private CA to trust for the SMTP server's certificate
    mail_from: str = "mediawatch <mediawatch@localhost>"
    webhook_timeout: Positive = 10.0
    # The web app's public address, for "open in mediawatch" links in messages (unset: no such links).
    base_url: str | None = None
    # A delivery that fails is tried again after base * 2**attempt seconds (with jitter, at most
    # retry_max_seconds), up to max_attempts tries, then recorded as failed and shown.
    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_seconds: Positive = 30.0
    retry_max_seconds: Positive = 3600.0
    # A channel whose last this-many deliveries failed is flagged (alerts list, status).
    failing_after: int = Field(default=3, ge=1, le=1000)
    # Documents a digest lists at most (the rest are counted).
    digest_max_items: int = Field(default=50, ge=1, le=1000)

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str) -> str:
        from email.utils import parseaddr

        address = parseaddr(value)[1]
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ValueError(f"{value!r} is not an e-mail address (write 'Name <name@example.vn>')")
        return value

    @field_validator("smtp_ca_certs")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _one_tls_mode(self) -> AlertSettings:
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("smtp_ssl and smtp_starttls exclude each other: choose one")
        return self


class ScheduleSettings(_Section):
    """``mediawatch schedule run``: how often it looks, how many crawls at once, its leases."""

    tick_seconds: Positive = 5.0
    max_concurrent_crawls: int = Field(default=2, ge=1, le=64)
    # A scheduler holds a source's lease while its crawl runs, renewing it; a lease not renewed for
    # this long (its scheduler died) may be taken over by another scheduler.
    lease_seconds: Positive = 120.0
    # A crawl running longer than this is stopped (SIGTERM, then SIGKILL) and recorded as interrupted.
    crawl_timeout_hours: Positive = 6.0


class WebSettings(_Section):
    """``mediawatch serve``: sessions, login throttling, the address people reach the app at, exports."""

    # A session lasts this long from its login (then the person logs in again).
    session_hours: Positive = Field(default=12.0, le=24 * 90)
    # Behind a reverse proxy that sets X-Forwarded-Proto/X-Forwarded-For (and strips them from clients):
    # only then are those headers believed (Secure cookies, the client address for throttling and audit).
    trusted_proxy: bool = False
    # The public address (https://mediawatch.example.vn): cookies are Secure when it is https.
    base_url: str | None = None
    # Failed logins allowed per account and per client address within login_window_minutes; then refused
    # (with the wait time) until the oldest failure leaves the window.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100000)
    login_window_minutes: Positive = Field(default=15.0, le=24 * 60)
    min_password_length: int = Field(default=10, ge=8, le=1024)
    # Results per search page, and the most rows one export writes.
    page_size: int = Field(default=20, ge=1, le=200)
    export_max_rows: int = Field(default=50_000, ge=1, le=1_000_000)
    language: Literal["vi", "en"] = "vi"  # the interface language of anonymous pages and new accounts
    # The Chromium that prints report PDFs; unset: chromium, chromium-browser or google-chrome on PATH, else
    # Playwright's own browser when one is installed.
    chromium: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) address such as https://mediawatch.example.vn")
        return value.rstrip("/") if value else value


class Settings(BaseSettings):
    """Everything configurable in one place; see module docstring for precedence."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIAWATCH_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path(".mediawatch")
    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _LegacyEnvAliases(settings_cls), env_settings, _TomlFile(settings_cls))


class _LegacyEnvAliases(PydanticBaseSettingsSource):
    """Short, documented variables: ``MEDIAWATCH_ES_URL`` and friends (same as ``MEDIAWATCH_ES__URL``)."""

    ALIASES = {
        "MEDIAWATCH_ES_URL": "url",
        "MEDIAWATCH_ES_API_KEY": "api_key",
        "MEDIAWATCH_ES_USERNAME": "username",
        "MEDIAWATCH_ES_PASSWORD": "password",
        "MEDIAWATCH_ES_CA_CERTS": "ca_certs",
    }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        es = {key: os.environ[var] for var, key in self.ALIASES.items() if os.environ.get(var)}
        return {"es": es} if es else {}


class _TomlFile(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = config_file_path()
        return {} if path is None else read_config_file(path)


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML table in ``path`` (UTF-8, a leading BOM allowed); any problem is one ConfigError line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def config_file_path() -> Path | None:
    """The config file in force, or None. An explicit ``MEDIAWATCH_CONFIG`` must exist."""
    explicit = os.environ.get("MEDIAWATCH_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"MEDIAWATCH_CONFIG names {path}, which is not a readable file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _environment() -> dict[str, str]:
    """``MEDIAWATCH_*`` variables, names upper-cased (settings read them case-insensitively)."""
    return {key.upper(): value for key, value in os.environ.items() if key.upper().startswith(ENV_PREFIX)}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _field_at(path: list[str]) -> Any:
    """The settings field at a path of names (any key below a mapping setting counts as that setting), or None."""
    model: type[BaseModel] | None = Settings
    info: Any = None
    for name in path:
        fields = model.model_fields if model is not None else {}
        if name not in fields:
            mapping = info is not None and get_origin(info.annotation) is dict
            return info if mapping else None
        info = fields[name]
        model = _model_of(info.annotation)
    return info


def _unknown_environment_setting() -> ConfigError | None:
    """A ``MEDIAWATCH_SECTION__NAME`` variable for a section that exists but a name that does not."""
    sections = {name for name, info in Settings.model_fields.items() if _model_of(info.annotation)}
    for var in sorted(_environment()):
        path = var[len(ENV_PREFIX):].lower().split("__")
        if len(path) < 2 or path[0] not in sections or _field_at(path) is not None:
            continue
        known = ", ".join(sorted(Settings.model_fields[path[0]].annotation.model_fields))  # type: ignore[union-attr]
        return ConfigError(
            f"unknown setting {'.'.join(path)} (from environment variable {var}); settings in {path[0]}: {known}"
        )
    return None


def _lookup(table: dict[str, Any], path: list[str]) -> bool:
    node: Any = table
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def _origin(path: list[str], overrides: dict[str, Any]) -> str:
    """Where the value at ``path`` came from: an environment variable, the config file, or arguments."""
    env = _environment()
    for depth in range(len(path), 0, -1):
        var = ENV_PREFIX + "__".join(path[:depth]).upper()
        if var in env:
            return f"environment variable {var}"
    below = sorted(var for var in env if var.startswith(ENV_PREFIX + "__".join(path).upper() + "__"))
    if below:  # a check across several settings of a section
        return "environment variable" + ("s " if len(below) > 1 else " ") + ", ".join(below)
    if path[:1] == ["es"] and len(path) > 1:
        for var, key in _LegacyEnvAliases.ALIASES.items():
            if key == path[1] and env.get(var):
                return f"environment variable {var}"
    if _lookup(overrides, path):
        return "arguments"
    try:
        config = config_file_path()
        if config is not None and _lookup(read_config_file(config), path):
            return str(config)
    except ConfigError:
        pass
    return "defaults"


def _describe(err: dict[str, Any], overrides: dict[str, Any]) -> str:
    names = [str(p) for p in err["loc"] if isinstance(p, str)]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "settings"
    origin = _origin(names, overrides)
    if err["type"] == "extra_forbidden":
        model = _model_of(_field_at(names[:-1]).annotation) if len(names) > 1 else Settings
        known = ", ".join(sorted(model.model_fields)) if model is not None else "-"
        return f"unknown setting {where} (from {origin}); known settings here: {known}"
    message = err["msg"].removeprefix("Value error, ")
    return f"invalid setting {where} (from {origin}): {message[:1].lower()}{message[1:]}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning the first problem into one ConfigError line naming the setting and its origin."""
    problem = _unknown_environment_setting()
    if problem is not None:
        raise problem
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], overrides)) from None
    except SettingsError as exc:  # a whole section given as JSON text that does not parse
        match = re.search(r'field "([^"]+)"', str(exc))
        name = match.group(1) if match else "settings"
        var = ENV_PREFIX + name.upper()
        raise ConfigError(f"invalid setting {name} (from environment variable {var}): not a JSON object") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
