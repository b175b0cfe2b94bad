"""The source registry: what to crawl, how politely, and when (``sources.yaml``).

``load_sources(path)`` validates every entry and raises one ConfigError line naming the file,
the entry and the field that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mediawatch.errors import ConfigError, UserError

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value


class Politeness(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay: float = Field(default=1.0, ge=0, description="Seconds between requests to this site.")
    concurrency: int = Field(default=2, ge=1, le=32, description="Parallel requests to this site.")


class ForumSelectors(BaseModel):
    """Where a forum keeps its threads and posts. Defaults fit XenForo-style markup.

    ``post_id`` and ``author`` name *attributes* of the post element; the others are CSS selectors.
    """

    model_config = ConfigDict(extra="forbid")

    thread_link: str = "a.thread-title, .structItem-title a"
    next_page: str = "a.pageNav-next"
    post: str = "article.message"
    post_id: str = "id"
    author: str = "data-author"
    time: str = "time"
    body: str = ".message-body"


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
    politeness: Politeness = Field(default_factory=Politeness)
    schedule: str | None = None
    enabled: bool = True
    max_pages: int | None = Field(default=None, ge=1, description="Stop after this many responses.")

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

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fields = value.split()
        if value.startswith("every ") or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)):
            return value
        raise ValueError(f"not a cron expression (5 fields) or 'every <interval>': {value!r}")

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
        """True when ``url``'s host is one of the allowed domains or a subdomain of one."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d.lower() or host.endswith("." + d.lower()) for d in self.allowed_domains)

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
            raise UserError(f"unknown source {source_id!r} in {self.path} (known: {known})") from None


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
