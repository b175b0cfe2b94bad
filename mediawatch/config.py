"""The one settings object: defaults < config file (TOML) < ``MEDIAWATCH_*`` environment variables.

The config file is ``$MEDIAWATCH_CONFIG`` when set, else ``./mediawatch.toml`` when it exists.
Nested sections use ``__`` in environment variables: ``MEDIAWATCH_ES__URL=https://es:9200``.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mediawatch.errors import ConfigError

DEFAULT_CONFIG_FILE = "mediawatch.toml"


class ElasticsearchSettings(BaseModel):
    """Where the store lives. With ``url`` unset, a local node is provisioned under ``home``."""

    url: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    request_timeout: float = 30.0
    # Local node (used only when ``url`` is unset).
    version: str = "8.19.7"
    home: Path = Path(".mediawatch/es")
    host: str = "127.0.0.1"
    port: int = 9200
    heap: str = "512m"
    java_home: Path | None = None
    run_as: str = "mediawatch-es"
    start_timeout: float = 180.0

    @field_validator("heap")
    @classmethod
    def _heap_at_most_1g(cls, value: str) -> str:
        units = {"k": 1 / (1024 * 1024), "m": 1 / 1024, "g": 1.0}
        v = value.strip().lower()
        if not v or v[-1] not in units or not v[:-1].isdigit():
            raise ValueError("heap must look like 512m or 1g")
        if int(v[:-1]) * units[v[-1]] > 1.0:
            raise ValueError("heap must be at most 1g for the local node")
        return v

    @property
    def local(self) -> bool:
        return not self.url

    @property
    def effective_url(self) -> str:
        return self.url or f"http://{self.host}:{self.port}"


class IndexSettings(BaseModel):
    prefix: str = "mediawatch"
    shards: int = 1
    replicas: int = 0
    bulk_batch_size: int = 200
    retention_days: int | None = None
    # Writes the cluster could not take are spooled under data_dir/spool/<prefix>/ and replayed by the
    # next crawl; past this many bytes the crawl stops (with a clear message) instead of dropping.
    spool_max_bytes: int = 512 * 1024 * 1024
    # Pages handed to the writer thread and not yet written: past this the crawl waits (back-pressure).
    writer_queue: int = 256
    # How long writers wait on an index held read-only by `mediawatch index migrate` before spooling.
    migration_wait_seconds: float = 600.0


class CrawlSettings(BaseModel):
    sources_file: Path = Path("sources.yaml")
    user_agent: str = "mediawatch/0.1 (+https://github.com/mediawatch/mediawatch; public news monitoring)"
    obey_robots: bool = True
    download_delay: float = 0.5
    concurrency_per_domain: int = 2
    autothrottle: bool = True
    max_page_bytes: int = 8 * 1024 * 1024
    timeout: float = 30.0
    timezone: str = "Asia/Ho_Chi_Minh"
    # Revisit policy (adaptive, per page): a newly seen page is due again after revisit_after_hours;
    # each fetch that finds it changed halves its interval, each that finds it unchanged doubles it,
    # always within [revisit_min_hours, revisit_max_hours] (the bounds also apply to stored intervals,
    # so lowering revisit_max_hours makes known pages due sooner; 0 revisits everything).
    revisit_after_hours: float = 24.0
    revisit_min_hours: float = 1.0
    revisit_max_hours: float = 24.0 * 14
    # A run whose failed fetches (network errors, HTTP 5xx, refused redirects) exceed this share of
    # its requests is reported "degraded".
    max_error_share: float = 0.1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "enrich" / "models"


class EnrichSettings(BaseModel):
    """Tagging models: a local directory or a Hugging Face hub id each; packaged offline defaults."""

    enabled: bool = True
    topic_model: str = str(PACKAGED_MODELS / "topic-vntc")
    sentiment_model: str = str(PACKAGED_MODELS / "sentiment-vsfc")
    # Languages the configured models were trained for; others get topic/sentiment "unknown".
    model_languages: list[str] = ["vi"]
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    batch_size: int = 32
    # CPU inference threads, each running whole batches on one core (a small model keeps the cores
    # busier that way than one batch at a time on torch's threads); 0: one per core, at most 8.
    # 1: one batch at a time on torch's threads. On a GPU, batches run one at a time regardless.
    workers: int = Field(default=0, ge=0, le=64)
    max_length: int = 256
    # Windows of an article the topic model reads (title + consecutive max_length-token windows,
    # predictions averaged); unset: what the model's config records (the shipped model: 8). 1 = lead only.
    topic_chunks: int | None = Field(default=None, ge=1, le=32)
    # Zero-shot topics: when set, topic_model is a (multilingual) NLI model and these are the topics,
    # label -> the words put into the hypothesis, e.g. {"politics_society": "chính trị, xã hội"}.
    topic_labels: dict[str, str] = {}
    topic_hypothesis: str = "This text is about {}."
    # Near-duplicate stories: MinHash over word shingles; Jaccard at or above this joins a story.
    story_threshold: float = 0.6
    models_dir: Path = Path(".mediawatch/models")  # where `mediawatch models pull` stores downloads

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
        if path is None:
            return {}
        try:
            with path.open("rb") as fh:
                return tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
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


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation problems into one ConfigError line naming file and field."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        origin = config_file_path() or "environment"
        raise ConfigError(f"invalid setting {where} (from {origin}): {err['msg']}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
