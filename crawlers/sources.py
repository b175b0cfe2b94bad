"""The source registry: what to crawl, how politely, and when (``sources.yaml``).

``load_sources(path)`` validates every entry and raises one ConfigError line naming the file,
the entry and the field that is wrong: unknown fields, URLs, regexes, CSS selectors (checked by the
engine that applies them: soupsieve for the news ``selectors``, parsel/cssselect for ``forum``),
IANA time zones, cron expressions (cronsim) or ``every <N><unit>``, and numbers that must be positive.
``load_registry(settings)`` is what crawls, the scheduler and listings read: the file with the sources stored in
Elasticsearch by the web app laid over it (``index.sources``); with ``file_if_unreachable=True`` the file alone,
with one logged warning, when Elasticsearch cannot be reached.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawlers.forums import ENGINES, SELECTOR_FIELDS
from mediawatch.errors import ConfigError, UserError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mediawatch.config import Settings

log = logging.getLogger(__name__)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ATTRIBUTE = re.compile(r"^[a-zA-Z_][\w.:-]*$")
_EVERY = re.compile(
    r"^every\s+(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)$", re.IGNORECASE
)
_EVERY_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_every(value: str) -> timedelta | None:
    """``"every 1h"`` / ``"every 30 minutes"`` -> its interval; None when ``value`` is not of that form.

    ValueError for an interval of zero."""
    match = _EVERY.match(value.strip())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise ValueError(f"the interval must be positive: {value!r}")
    return timedelta(**{_EVERY_UNITS[unit[0]]: amount})


def check_cron(value: str) -> str:
    """``value`` if it is a five-field cron expression that can fire; ValueError naming what is wrong."""
    from cronsim import CronSim, CronSimError

    try:
        CronSim(value, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"not a valid cron expression {value!r} ({exc})") from None
    return value


def check_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone (``Asia/Ho_Chi_Minh``); ValueError otherwise."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r} (for example Asia/Ho_Chi_Minh)") from None
    return value


def check_parsel_css(value: str) -> str:
    """``value`` if parsel (cssselect), which the forum parser applies, accepts it as CSS."""
    from cssselect import SelectorError
    from parsel.csstranslator import css2xpath

    if not value.strip():
        raise ValueError("empty CSS selector")
    try:
        css2xpath(value)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


def check_soupsieve_css(value: str) -> str:
    """``value`` if soupsieve, which BeautifulSoup applies in article extraction, accepts it as CSS."""
    import soupsieve

    if not value.strip():
        raise ValueError("empty CSS selector")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notices (":contains") are not errors
            soupsieve.compile(value)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"invalid CSS selector {value!r}: {reason}") from None
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value


class Politeness(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay: float = Field(default=1.0, ge=0, allow_inf_nan=False, description="Seconds between requests to this site.")
    concurrency: int = Field(default=2, ge=1, le=32, description="Parallel requests to this site.")

    no_bool_numbers = field_validator("delay", "concurrency", mode="before")(_not_bool)


class ForumSelectors(BaseModel):
    """How a forum is read: its engine and, field by field, overrides of that engine's preset.

    ``engine`` is ``auto`` (detected on each page) or one of :data:`crawlers.forums.ENGINES`. Every other
    field is None (the preset's) or a CSS selector as parsel applies it (``::attr(name)`` and ``::text``
    allowed): ``thread_link`` (links to threads on a section page), ``next_page`` (the next page's link),
    ``title`` (the thread title), ``post`` (a post's container), and inside a post ``time``, ``body`` and
    ``author``/``post_id``. ``author`` and ``post_id`` may also name an attribute of the post element
    (``data-author``, ``id``), which is how they were written before presets existed.
    """

    model_config = ConfigDict(extra="forbid")

    engine: str = "auto"
    thread_link: str | None = None
    next_page: str | None = None
    title: str | None = None
    post: str | None = None
    post_id: str | None = None
    author: str | None = None
    time: str | None = None
    body: str | None = None

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value != "auto" and value not in ENGINES:
            raise ValueError(f"unknown forum engine {value!r} (auto, {', '.join(ENGINES)})")
        return value

    @field_validator("thread_link", "next_page", "title", "post", "time", "body")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        return None if value is None else check_parsel_css(value)

    @field_validator("post_id", "author")
    @classmethod
    def _attribute_or_css(cls, value: str | None) -> str | None:
        if value is None or _ATTRIBUTE.match(value):
            return value
        return check_parsel_css(value)

    def overrides(self) -> dict[str, str]:
        """The fields set here, as ``crawlers.forums.parse_*_page(selectors=...)`` takes them."""
        return {name: value for name in SELECTOR_FIELDS if (value := getattr(self, name)) is not None}

    @property
    def engine_or_none(self) -> str | None:
        """The forced engine, or None for ``auto``."""
        return None if self.engine == "auto" else self.engine


class Source(BaseModel):
    """One site or forum to monitor."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    kind: Literal["news", "forum"]
    home: str
    feeds: list[str] = []
    sitemaps: list[str] = []
    sections: list[str] = []
    allowed_domains: list[str] = []
    article_patterns: list[str] = []
    follow_patterns: list[str] = []
    selectors: dict[Literal["title", "text", "published", "updated", "author", "section"], str] = {}
    forum: ForumSelectors = Field(default_factory=ForumSelectors)
    language: str | None = None
    timezone: str | None = None
    # Home province (a code or name of the 2025 list, kept as its code): resolves place names that several
    # provinces share (enrich.places).
    province: str | None = None
    politeness: Politeness = Field(default_factory=Politeness)
    schedule: str | None = None
    enabled: bool = True
    max_pages: int | None = Field(default=None, ge=1, description="Stop after this many responses.")

    no_bool_numbers = field_validator("max_pages", mode="before")(_not_bool)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lowercase letters, digits, '-' or '_' (at most 64 characters)")
        return value

    @field_validator("home")
    @classmethod
    def _home_url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("feeds", "sitemaps", "sections")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return [_check_url(v) for v in values]

    @field_validator("article_patterns", "follow_patterns")
    @classmethod
    def _regexes(cls, values: list[str]) -> list[str]:
        for pattern in values:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return values

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, values: dict[str, str]) -> dict[str, str]:
        for value in values.values():
            check_soupsieve_css(value)
        return values

    @field_validator("province", mode="before")
    @classmethod
    def _province(cls, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("expected a province code or name, such as 24 or Bắc Ninh")
        from enrich.places import normalize_province

        return normalize_province(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.strip().lower().startswith("every"):
            if parse_every(value) is None:
                raise ValueError(f"not an interval like 'every 1h' or 'every 30m': {value!r}")
            return value
        if len(value.split()) != 5:
            raise ValueError(f"not a cron expression (5 fields) or 'every <interval>': {value!r}")
        return check_cron(value)

    @model_validator(mode="after")
    def _defaults(self) -> Source:
        if not self.allowed_domains:
            self.allowed_domains = [urlsplit(self.home).hostname or ""]
        if self.kind == "forum" and not self.sections:
            self.sections = [self.home]
        for url in [self.home, *self.feeds, *self.sitemaps, *self.sections]:
            if not self.allows(url):
                raise ValueError(f"{url} is outside allowed_domains {self.allowed_domains}")
        return self

    def allows(self, url: str) -> bool:
        """True when ``url``'s host is one of the allowed domains or a subdomain of one. An entry that is an
        IP address matches that address exactly, never as a suffix (``"1"`` does not allow ``10.0.0.1``)."""
        from crawlers.netguard import literal_address

        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # a malformed URL (http://[::1) is outside every domain
            return False
        address = literal_address(host)
        for domain in self.allowed_domains:
            entry = domain.lower().strip("[]")
            if host == entry or (address is not None and address == literal_address(entry)):
                return True
            if address is None and literal_address(entry) is None and not entry.isdigit() \
                    and host.endswith("." + entry):
                return True
        return False

    def is_article_url(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.article_patterns)

    def is_followable(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.follow_patterns)


class SourceRegistry:
    """Sources read from one file, by id."""

    def __init__(self, path: Path, sources: Iterable[Source]) -> None:
        self.path = path
        self._by_id = {s.id: s for s in sources}

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, source_id: str) -> Source:
        try:
            return self._by_id[source_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise UserError(f"unknown source {source_id!r} in {self.path} (known: {known})", exit_code=2) from None


def load_sources(path: str | Path) -> SourceRegistry:
    """Read and validate a sources file. Errors name the file, the entry and the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sources file {path} does not exist (set MEDIAWATCH_CRAWL__SOURCES_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    entries = (raw or {}).get("sources") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a top-level 'sources:' list")
    sources: list[Source] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        label = entry.get("id") if isinstance(entry, dict) and entry.get("id") else f"#{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: source {label}: expected a mapping of fields")
        try:
            source = Source.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(entry)"
            msg = err["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{path}: source {label}: field {field}: {msg}") from None
        if source.id in seen:
            raise ConfigError(f"{path}: source {label}: field id: duplicate id {source.id!r}")
        seen.add(source.id)
        sources.append(source)
    return SourceRegistry(path, sources)


# -- the registry every caller reads: the file, with the sources stored in the web app laid over it ----------------

ORIGIN_FILE, ORIGIN_APP, ORIGIN_EDITED = "file", "app", "edited"


class MergedRegistry(SourceRegistry):
    """The sources of ``sources.yaml`` with those stored in Elasticsearch laid over them (:func:`load_registry`).

    ``origin(id)``: ``file`` (only in the file), ``app`` (added in the web app) or ``edited`` (a file entry the
    app replaced or disabled). ``problems``: stored entries that no longer validate (only when read leniently)."""

    def __init__(self, path: Path, sources: Iterable[Source], origins: dict[str, str],
                 problems: dict[str, str] | None = None) -> None:
        super().__init__(path, sources)
        self.origins = origins
        self.problems = problems or {}

    def origin(self, source_id: str) -> str:
        return self.origins.get(source_id, ORIGIN_FILE)

    def get(self, source_id: str) -> Source:
        try:
            return self._by_id[source_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise UserError(f"unknown source {source_id!r} in {self.path} or the sources added in the web app "
                            f"(known: {known})", exit_code=2) from None


def stored_source(record: dict[str, Any]) -> Source:
    """The Source a stored record describes; ConfigError (one line naming the source and field) when its
    ``config`` no longer validates."""
    label = record.get("id") or "?"
    config = record.get("config")
    if not isinstance(config, dict) or config.get("id") != record.get("id"):
        raise ConfigError(f"source {label} stored in Elasticsearch (web app): its config is missing or names "
                          "another id; edit or remove it on the Sources page")
    try:
        return Source.model_validate(config)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(entry)"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"source {label} stored in Elasticsearch (web app): field {field}: {msg}") from None


def overlay(base: SourceRegistry, records: Iterable[dict[str, Any]], *, strict: bool = True) -> MergedRegistry:
    """``base`` with the stored ``records`` laid over it: a stored source replaces the file's entry of the same id
    (in place, so it can also disable it); the others follow the file's, by id. ``strict``: a record that does not
    validate is a ConfigError; otherwise it is left out and named in ``problems``."""
    stored: dict[str, Source] = {}
    problems: dict[str, str] = {}
    for record in records:
        try:
            stored[record["id"]] = stored_source(record)
        except ConfigError as exc:
            if strict:
                raise
            problems[str(record.get("id"))] = str(exc)
    sources: list[Source] = []
    origins: dict[str, str] = {}
    for source in base:
        replaced = stored.pop(source.id, None)
        sources.append(replaced or source)
        origins[source.id] = ORIGIN_EDITED if replaced else ORIGIN_FILE
    for source_id in sorted(stored):
        sources.append(stored[source_id])
        origins[source_id] = ORIGIN_APP
    return MergedRegistry(base.path, sources, origins, problems)


def load_registry(settings: Settings, client: Elasticsearch | None = None, *, strict: bool = True,
                  file_if_unreachable: bool = False) -> MergedRegistry:
    """The registry every crawl, ``--due`` pass, scheduler and listing reads: ``crawl.sources_file`` with the
    sources stored in Elasticsearch (``index.sources``) laid over it (:func:`overlay`). With nothing stored it is
    exactly the file. The file is read first (its errors are ConfigError lines as ever); a missing file is
    allowed only when sources are stored. ClusterUnavailable (one line) when Elasticsearch cannot be reached or
    refuses the listing, unless ``file_if_unreachable``: then one warning is logged naming the cluster's error and
    the file alone is the registry (every origin ``file``; a missing or broken file is still its ConfigError)."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from index.client import describe_error, make_client, unreachable
    from index.sources import SourceStore
    from mediawatch.errors import ClusterUnavailable

    path = Path(settings.crawl.sources_file)
    missing: ConfigError | None = None
    try:
        base = load_sources(path)
    except ConfigError as exc:
        if path.exists():
            raise
        base, missing = SourceRegistry(path, []), exc
    url = settings.es.effective_url
    try:
        records = SourceStore.of(client if client is not None else make_client(settings), settings).all()
    except TransportError as exc:
        error = unreachable(url, exc)
    except ApiError as exc:
        error = ClusterUnavailable(f"Elasticsearch at {url} refused to list the stored sources: "
                                   f"{describe_error(exc)}")
    else:
        if missing is not None and not records:
            raise missing
        return overlay(base, records, strict=strict)
    if not file_if_unreachable:
        raise error
    if missing is not None:
        raise missing
    log.warning("%s Using %s alone: sources added or edited in the web app are left out.", error, path)
    return overlay(base, [])
