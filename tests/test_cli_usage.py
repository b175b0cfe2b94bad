"""The command line never shows a traceback for a usage mistake: each case below runs the real CLI as a
subprocess and must print one line on stderr, no traceback, the documented exit code and the words that
tell the person what to do. Settings problems are refused the same way, naming the setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
import typer.main

from tests.conftest import Cluster, free_port, run_cli


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No MEDIAWATCH_* from the caller; a cluster URL nobody listens on (usage errors never get that far)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(MEDIAWATCH_ES_URL=f"http://127.0.0.1:{free_port()}", MEDIAWATCH_DATA_DIR=str(tmp_path),
               COLUMNS="200", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


# (args, extra environment, exit code, words the line must contain)
USAGE = [
    ((), {}, 2, ["missing command", "see mediawatch --help"]),
    (("bogus",), {}, 2, ["no such command 'bogus'", "mediawatch --help"]),
    (("es",), {}, 2, ["missing command", "see mediawatch es --help"]),
    (("sources",), {}, 2, ["missing command", "see mediawatch sources --help"]),
    (("search",), {}, 2, ["missing argument", "query", "mediawatch search --help"]),
    (("search", "lũ", "--bogus"), {}, 2, ["no such option: --bogus", "mediawatch search --help"]),
    (("search", "lũ", "--json=yes"), {}, 2, ["--json", "does not take a value"]),
    (("search", "lũ", "--size", "0"), {}, 2, ["--size", "greater than or equal to 1"]),
    (("search", "lũ", "--size", "1001"), {}, 2, ["--size", "less than or equal to 1000"]),
    (("search", "lũ", "--size", "ten"), {}, 2, ["--size"]),
    (("search", "lũ", "--limit", "0"), {}, 2, ["--limit"]),
    (("search", "lũ", "--sort", "score"), {}, 2, ["--sort", "relevance or date"]),
    (("search", "lũ", "lụt"), {}, 2, ["unexpected extra argument", "quotes"]),
    (("search", "-bão lũ"), {}, 2, ["put -- before it", "mediawatch search -- '-bão lũ'"]),
    (("search", "-sông Hồng"), {}, 2, ["put -- before it", "mediawatch search -- '-sông Hồng'"]),  # -s: --source
    (("search", "lũ", "-lụt"), {}, 2, ["--lang", "put -- before it"]),  # -l: --lang
    (("search", "lũ", "--from", "99999999d"), {}, 2, ["--from", "out of range"]),
    (("search", "lũ", "--from", "99999-01-01"), {}, 2, ["--from", "cannot read date"]),
    (("search", "lũ", "--to", "tomorrow"), {}, 2, ["--to", "cannot read date", "yesterday"]),
    (("search", "lũ", "--from", "2026-11-02", "--to", "2026-11-01"), {}, 2, ["--from", "after --to"]),
    (("search", "lũ", "--kind", "blog"), {}, 2, ["--kind", "'blog'", "news, forum"]),
    (("search", "lũ", "--topic", "weather"), {}, 2, ["--topic", "'weather'", "sports", "politics_society", "unknown"]),
    (("search", "lũ", "--sentiment", "angry"), {}, 2, ["--sentiment", "negative, neutral, positive, unknown"]),
    (("search", "lũ", "--lang", "vietnamese"), {}, 2, ["--lang", "two-letter"]),
    (("search", "lũ", "--source", "bac ninh"), {}, 2, ["--source", "not a source id"]),
    (("search", "lũ", "--after", "!!not-a-cursor"), {}, 2, ["invalid paging cursor"]),
    (("search", "AND OR ("), {}, 2, ["query syntax error at position"]),
    (("search", "--", "NOT bão"), {}, 2, ["query syntax error", "only excludes"]),
    # Settings: refused when loaded, naming the setting and where it came from.
    (("search", "lũ"), {"MEDIAWATCH_CRAWL__TIMEZONE": "Asia/Hanoii"}, 2,
     ["invalid setting crawl.timezone", "environment variable MEDIAWATCH_CRAWL__TIMEZONE", "'Asia/Hanoii'"]),
    (("search", "lũ"), {"MEDIAWATCH_CRAWL__TIMEOUT": "0"}, 2, ["crawl.timeout", "greater than 0"]),
    (("search", "lũ"), {"MEDIAWATCH_INDEX__BULK_BATCH_SIZE": "-5"}, 2, ["index.bulk_batch_size"]),
    (("search", "lũ"), {"MEDIAWATCH_ES__PORT": "70000"}, 2, ["es.port", "65535"]),
    (("search", "lũ"), {"MEDIAWATCH_ENRICH__MODEL_LANGUAGES": "vi,english"}, 2,
     ["enrich.model_languages", "'english'"]),
    (("search", "lũ"), {"MEDIAWATCH_ENRICH__MODEL_LANGUAGES": '["vi",'}, 2, ["enrich.model_languages", "JSON"]),
    (("search", "lũ"), {"MEDIAWATCH_ENRICH__TOPIC_LABELS": "flooding"}, 2, ["enrich.topic_labels", "JSON object"]),
    (("search", "lũ"), {"MEDIAWATCH_CRAWL": "{not json"}, 2, ["invalid setting crawl", "MEDIAWATCH_CRAWL"]),
    (("search", "lũ"), {"MEDIAWATCH_CRAWL__TIMEZONEE": "UTC"}, 2,
     ["unknown setting crawl.timezonee", "MEDIAWATCH_CRAWL__TIMEZONEE", "timezone"]),
    # The list forms the README shows are accepted: the search gets as far as the (absent) cluster.
    (("search", "lũ"), {"MEDIAWATCH_ENRICH__MODEL_LANGUAGES": "vi,en"}, 3, ["unreachable"]),
    (("search", "lũ"), {"MEDIAWATCH_ENRICH__MODEL_LANGUAGES": '["vi", "en"]'}, 3, ["unreachable"]),
]


@pytest.mark.parametrize(("args", "extra", "code", "words"), USAGE, ids=[" ".join(c[0]) + str(c[1]) for c in USAGE])
def test_usage_mistakes_are_one_line(tmp_path: Path, args: tuple[str, ...], extra: dict[str, str], code: int,
                                     words: list[str]) -> None:
    result = run_cli(*args, env=_env(tmp_path, **extra))
    line = _one_line(result.stderr)
    assert result.returncode == code, (result.returncode, line)
    for word in words:
        assert word in line, (word, line)
    assert result.stdout == ""


CONFIG_FILES = [
    ("not-utf8.toml", b'[crawl]\nuser_agent = "b\xe1o"\n', ["not UTF-8", "line 2"]),
    ("unknown.toml", b'[crawl]\ntimezonee = "UTC"\n', ["unknown setting crawl.timezonee", "unknown.toml", "timezone"]),
    ("section.toml", b"[crwal]\ntimeout = 5\n", ["unknown setting crwal", "crawl"]),
    ("zone.toml", b'[crawl]\ntimezone = "Mars/Olympus"\n', ["crawl.timezone", "zone.toml", "'Mars/Olympus'"]),
    ("delay.toml", b"[crawl]\ndownload_delay = -1\n", ["crawl.download_delay", "greater than or equal to 0"]),
    ("revisit.toml", b"[crawl]\nrevisit_max_hours = -24\n", ["crawl.revisit_max_hours"]),
    ("spool.toml", b"[index]\nspool_max_bytes = 0\n", ["index.spool_max_bytes"]),
    ("heap.toml", b'[es]\nheap = "0m"\n', ["es.heap"]),
    ("toml.toml", b"[crawl\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("name", "content", "words"), CONFIG_FILES, ids=[c[0] for c in CONFIG_FILES])
def test_bad_config_files_are_one_line(tmp_path: Path, name: str, content: bytes, words: list[str]) -> None:
    config = tmp_path / name
    config.write_bytes(content)
    result = run_cli("search", "lũ", env=_env(tmp_path, MEDIAWATCH_CONFIG=str(config)))
    line = _one_line(result.stderr)
    assert result.returncode == 2, line
    for word in words:
        assert word in line, (word, line)


def test_a_config_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    config = tmp_path / "bom.toml"
    config.write_bytes('\ufeff[crawl]\ntimezone = "UTC"\n'.encode())
    result = run_cli("search", "lũ", env=_env(tmp_path, MEDIAWATCH_CONFIG=str(config)))
    assert result.returncode == 3 and "unreachable" in _one_line(result.stderr)


@pytest.mark.parametrize("args", [("--help",), ("search", "--help"), ("es", "--help")])
def test_help_still_prints_help(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, env=_env(tmp_path))
    assert result.returncode == 0 and result.stderr == ""
    assert "Usage" in result.stdout


def test_a_query_after_double_dash_may_start_with_a_dash(cluster: Cluster, prefix: str, tmp_path: Path) -> None:
    # It parses as a query (nothing is indexed under this prefix, so that is what it says).
    result = run_cli("search", "--json", "--", "-bão lũ", env=cluster.env(prefix, tmp_path))
    assert result.returncode == 1 and "nothing is indexed yet" in _one_line(result.stderr)


def test_typer_usage_errors_are_typer_exceptions_with_exit_code_2() -> None:
    """What mediawatch.cli.main relies on (Typer 0.29, pinned in pyproject.toml): outside standalone mode
    the parser raises its usage errors, all ``typer.TyperException`` with ``exit_code`` 2, and a group
    with ``no_args_is_help`` off answers no arguments with "Missing command"."""
    from mediawatch.cli import _no_help_on_empty, _register, app

    _register()
    command = _no_help_on_empty(typer.main.get_command(app))
    for args, message in (([], "Missing command"), (["bogus"], "No such command"),
                          (["search", "x", "--size", "0"], "--size"), (["search", "--nope"], "No such option")):
        with pytest.raises(typer.TyperException) as info:
            command.main(args=args, prog_name="mediawatch", standalone_mode=False)
        assert info.value.exit_code == 2 and message in info.value.format_message(), args
