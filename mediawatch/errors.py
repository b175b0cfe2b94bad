"""Errors a person can act on: each carries one line that says what went wrong and what to do."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix (bad config, bad query, unreachable cluster).

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``; no traceback.
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(" ".join(message.split()))
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(UserError):
    """Unreadable or invalid configuration (settings file, sources file)."""

    exit_code = 2


class QuerySyntaxError(UserError):
    """A search query that cannot be parsed; never silently rewritten."""

    exit_code = 2


class ClusterUnavailable(UserError):
    """Elasticsearch cannot be reached or refused the request."""

    exit_code = 3


class SchemaOutdated(UserError):
    """The index was written by another schema version: ``mediawatch index migrate`` (or an upgrade) first."""

    exit_code = 3
