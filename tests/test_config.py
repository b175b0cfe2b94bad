"""The settings object refuses what cannot work when it is loaded, in one line naming the setting and
where its value came from; list settings take the comma form the README shows."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from mediawatch.config import Settings, check_timezone, load_settings
from mediawatch.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("MEDIAWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./mediawatch.toml


def _numeric_fields() -> list[tuple[str, str]]:
    out = []
    for section, info in Settings.model_fields.items():
        model = info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, field in model.model_fields.items():
            kinds = {arg for arg in typing.get_args(field.annotation) or (field.annotation,) if arg is not type(None)}
            if kinds and kinds <= {int, float}:
                out.append((section, name))
    return out


NUMERIC = _numeric_fields()


def test_every_numeric_setting_is_checked() -> None:
    assert ("crawl", "timeout") in NUMERIC and ("index", "spool_max_bytes") in NUMERIC and len(NUMERIC) >= 20


@pytest.mark.parametrize(("section", "name"), NUMERIC, ids=[f"{s}.{n}" for s, n in NUMERIC])
def test_negative_numbers_are_refused_for_every_numeric_setting(section: str, name: str) -> None:
    with pytest.raises(ConfigError, match=rf"^invalid setting {section}\.{name} \(from arguments\): "):
        load_settings(**{section: {name: -1}})


@pytest.mark.parametrize(
    "setting",
    ["es.request_timeout", "es.start_timeout", "es.port", "index.shards", "index.bulk_batch_size",
     "index.retention_days", "index.spool_max_bytes", "index.writer_queue", "crawl.concurrency_per_domain",
     "crawl.max_page_bytes", "crawl.timeout", "enrich.batch_size", "enrich.max_length", "enrich.story_threshold"],
)
def test_zero_is_refused_where_it_cannot_work(setting: str) -> None:
    section, name = setting.split(".")
    with pytest.raises(ConfigError, match=rf"invalid setting {setting} "):
        load_settings(**{section: {name: 0}})


@pytest.mark.parametrize(
    "setting",
    ["index.replicas", "index.migration_wait_seconds", "crawl.download_delay", "crawl.revisit_after_hours",
     "crawl.revisit_min_hours", "crawl.max_error_share", "enrich.workers"],
)
def test_zero_is_accepted_where_it_means_something(setting: str) -> None:
    section, name = setting.split(".")
    assert getattr(getattr(load_settings(**{section: {name: 0}}), section), name) == 0


def test_time_zones_are_checked() -> None:
    assert check_timezone("Asia/Ho_Chi_Minh") == "Asia/Ho_Chi_Minh"
    assert load_settings(crawl={"timezone": "UTC"}).crawl.timezone == "UTC"
    for bad in ("Asia/Hanoii", "", "../etc/passwd", "+07:00"):
        with pytest.raises(ConfigError, match="invalid setting crawl.timezone .*unknown time zone"):
            load_settings(crawl={"timezone": bad})


def test_environment_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAWATCH_CRAWL__TIMEZONE", "Asia/Hanoii")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value) == (
        "invalid setting crawl.timezone (from environment variable MEDIAWATCH_CRAWL__TIMEZONE): "
        "unknown time zone 'Asia/Hanoii'; use an IANA name such as Asia/Ho_Chi_Minh or UTC"
    )


def test_the_short_cluster_variables_are_named_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAWATCH_ES_CA_CERTS", "")
    monkeypatch.setenv("MEDIAWATCH_ES__REQUEST_TIMEOUT", "-3")
    with pytest.raises(ConfigError, match=r"es\.request_timeout \(from environment variable MEDIAWATCH_ES__REQU"):
        load_settings()


@pytest.mark.parametrize("value", ["vi,en", " vi , en ", '["vi","en"]', '["vi", "en"]', "VI,EN"])
def test_list_settings_take_the_comma_and_json_forms(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MEDIAWATCH_ENRICH__MODEL_LANGUAGES", value)
    assert load_settings().enrich.model_languages == ["vi", "en"]


def test_an_empty_list_is_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAWATCH_ENRICH__MODEL_LANGUAGES", "")
    assert load_settings().enrich.model_languages == []


def test_mapping_settings_take_json_or_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAWATCH_ENRICH__TOPIC_LABELS", '{"flooding": "lũ lụt"}')
    assert load_settings().enrich.topic_labels == {"flooding": "lũ lụt"}
    monkeypatch.delenv("MEDIAWATCH_ENRICH__TOPIC_LABELS")
    monkeypatch.setenv("MEDIAWATCH_ENRICH__TOPIC_LABELS__TRANSPORT", "giao thông")
    assert load_settings().enrich.topic_labels == {"transport": "giao thông"}


def test_unknown_keys_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "mediawatch.toml"
    config.write_text('[crawl]\nuser_agnet = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^unknown setting crawl\.user_agnet \(from mediawatch\.toml\); .*agent"):
        load_settings()
    config.write_text("retention_days = 30\n", encoding="utf-8")
    known = r"known settings here: alerts, crawl, data_dir"
    with pytest.raises(ConfigError, match=rf"^unknown setting retention_days .*{known}"):
        load_settings()
    config.unlink()
    monkeypatch.setenv("MEDIAWATCH_INDEX__RETENTION_DAY", "30")
    with pytest.raises(ConfigError, match=r"unknown setting index\.retention_day .*MEDIAWATCH_INDEX__RETENTION_DAY"):
        load_settings()


def test_the_environment_wins_and_is_named_over_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "mediawatch.toml").write_text("[crawl]\ntimeout = 5\n", encoding="utf-8")
    assert load_settings().crawl.timeout == 5
    monkeypatch.setenv("MEDIAWATCH_CRAWL__TIMEOUT", "0")
    with pytest.raises(ConfigError, match="from environment variable MEDIAWATCH_CRAWL__TIMEOUT"):
        load_settings()


def test_a_config_file_that_is_not_utf8_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "legacy.toml"
    config.write_bytes('[crawl]\nuser_agent = "Báo"\n'.encode("cp1258"))
    monkeypatch.setenv("MEDIAWATCH_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"^config file .*legacy\.toml is not UTF-8 text \(byte 0x\w\w on line 2\)"):
        load_settings()


def test_other_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    for section, values, words in [
        ("index", {"prefix": "Media Watch"}, "index.prefix"),
        ("enrich", {"device": "gpu"}, "enrich.device"),
        ("crawl", {"timeout": float("nan")}, "crawl.timeout"),
        ("crawl", {"max_error_share": 1.5}, "crawl.max_error_share"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_settings(**{section: values})
    assert load_settings(enrich={"device": "cuda:1"}).enrich.device == "cuda:1"
    # revisit_max_hours 0 (every known page due) is meaningful even below revisit_min_hours (index/pages.py).
    assert load_settings(crawl={"revisit_max_hours": 0}).crawl.revisit_max_hours == 0
