"""Zero-shot topics through the real transformers loading and pipeline path, on a tiny NLI model
trained here in a few seconds (tests/tiny_models.py: build_tiny_nli)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich.classifier import ModelLoadError
from enrich.zeroshot import ZeroShotClassifier, premise
from mediawatch.errors import ConfigError
from tests.tiny_models import build_tiny_classifier, build_tiny_nli

LABELS = {"sports": "bóng đá", "business": "chứng khoán", "weather": "mưa lũ"}
HYPOTHESIS = "Văn bản này nói về {}."
# Sentences of the model's words, none of them made verbatim by the training data generator.
KNOWN = [
    ("Cầu thủ ghi bàn đẹp mắt trong trận bóng đá tối qua", "sports"),
    ("Giá vàng và cổ phiếu tăng, ngân hàng giảm lãi suất", "business"),
    ("Mưa lớn gây ngập và sạt lở ở Bắc Ninh", "weather"),
    ("Đội tuyển Việt Nam vô địch, huấn luyện viên rất vui", "sports"),
    ("Doanh nghiệp xuất khẩu lo tỷ giá", "business"),
    ("Bão và gió mạnh, người dân tỉnh Nghệ An sơ tán vì lũ lụt", "weather"),
]
NEUTRAL = "Hôm nay tin mới tại Hà Nội"


@pytest.fixture(scope="module")
def nli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import torch

    # One thread: this tiny model is ~50x slower when torch's threads compete with other work for
    # two cores, and the results do not depend on it.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_tiny_nli(tmp_path_factory.mktemp("tiny-nli") / "nli")
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clf(nli: Path) -> ZeroShotClassifier:
    return ZeroShotClassifier(str(nli), LABELS, hypothesis=HYPOTHESIS, max_length=48, batch_size=4).load()


def _capture_inputs(clf: ZeroShotClassifier) -> tuple[list[list[int]], Any]:
    """input_ids of every row the pipeline hands the model (a forward pre-hook)."""
    seen: list[list[int]] = []
    model = clf._pipeline.model

    def hook(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        ids, mask = kwargs["input_ids"], kwargs["attention_mask"]
        seen.extend([i for i, m in zip(row, keep, strict=True) if m] for row, keep in zip(ids.tolist(),
                                                                                         mask.tolist(), strict=True))

    return seen, model.register_forward_pre_hook(hook, with_kwargs=True)


def test_known_texts_get_their_topic_in_input_order(clf: ZeroShotClassifier) -> None:
    texts = [text for text, _ in KNOWN]
    predictions = clf.predict(texts)
    assert [p.label for p in predictions] == [label for _, label in KNOWN]
    for p in predictions:
        assert list(p.scores) == list(LABELS) and sum(p.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.score == p.scores[p.label] == max(p.scores.values()) and p.score > 0.8
    # Batched with other texts (another padding, another order) or alone: the same answers.
    shuffled = texts[::-1] + [NEUTRAL]
    alone = {text: clf.predict([text])[0] for text in shuffled}
    for text, together in zip(shuffled, clf.predict(shuffled), strict=True):
        assert together.label == alone[text].label
        assert together.scores == pytest.approx(alone[text].scores, abs=1e-5)


def test_labels_are_the_configured_ids_and_phrasing_is_configurable(nli: Path) -> None:
    other = {"weather": "bão", "sports": "cầu thủ", "business": "ngân hàng"}
    clf = ZeroShotClassifier(str(nli), other, hypothesis="Bài viết về {}.", max_length=48)
    assert clf.labels == ["weather", "sports", "business"]
    predictions = clf.predict([text for text, _ in KNOWN])
    assert [p.label for p in predictions] == [label for _, label in KNOWN]
    assert all(list(p.scores) == ["weather", "sports", "business"] for p in predictions)
    # A label set without the right topic spreads the text over what is offered; ids, not phrases.
    two = ZeroShotClassifier(str(nli), {"sports": "bóng đá", "weather": "mưa lũ"}, hypothesis=HYPOTHESIS)
    (p,) = two.predict(["Mưa lũ gây ngập"])
    assert p.label == "weather" and set(p.scores) == {"sports", "weather"}
    # One label: the pipeline scores entailment against contradiction instead (not always 1.0).
    one = ZeroShotClassifier(str(nli), {"sports": "bóng đá"}, hypothesis=HYPOTHESIS)
    yes, no = one.predict(["Cầu thủ ghi bàn trong trận đấu", "Giá vàng tăng, chứng khoán giảm"])
    assert yes.label == no.label == "sports" and yes.score > 0.9 and no.score < 0.1


def test_titles_are_read(clf: ZeroShotClassifier) -> None:
    with_titles = clf.predict([NEUTRAL, NEUTRAL, NEUTRAL], titles=["Giá vàng, chứng khoán", "Trận bóng đá", None])
    assert [p.label for p in with_titles[:2]] == ["business", "sports"]
    assert with_titles[2].scores == pytest.approx(clf.predict([NEUTRAL])[0].scores, abs=1e-5)
    assert premise("nội dung", "Tiêu đề") == "Tiêu đề. nội dung"
    assert premise("nội dung", " Tiêu đề? ") == "Tiêu đề? nội dung"
    assert premise("", "Tiêu đề") == "Tiêu đề" and premise("  nội dung ", None) == "nội dung"


def test_the_premise_is_cut_and_the_hypothesis_kept_whole(clf: ZeroShotClassifier) -> None:
    tokenizer = clf._tokenizer
    hypotheses = {tuple(tokenizer(clf.hypothesis.format(p), add_special_tokens=False)["input_ids"])
                  for p in LABELS.values()}
    sep = tokenizer.sep_token_id
    lead = "Cầu thủ ghi bàn trong trận bóng đá"
    long_texts = [lead + " hôm nay" * 60 + " giá vàng chứng khoán lãi suất ngân hàng" * 20,
                  "ngập lụt mưa lũ " * 70_000]  # ~1 MB
    seen, handle = _capture_inputs(clf)
    try:
        predictions = clf.predict(long_texts)
    finally:
        handle.remove()
    assert [p.label for p in predictions] == ["sports", "weather"]  # only the lead was read
    assert len(seen) == 2 * len(LABELS)
    for row in seen:
        assert len(row) == clf.max_length == 48
        first_sep = row.index(sep)
        assert row[-1] == sep and tuple(row[first_sep + 1 : -1]) in hypotheses
    assert clf.predict(["Cầu thủ ghi bàn trong trận bóng đá"])[0].label == "sports"


def test_odd_texts_do_not_crash(clf: ZeroShotClassifier) -> None:
    texts = ["", "   \n", "⚽🎉🔥", "Hà Nội 河内 Ханой 하노이 ✓", "x", "a" * 5000, "ngập " * 200_000]
    predictions = clf.predict(texts, titles=[None, "", None, "🎉", None, None, None])
    assert len(predictions) == len(texts)
    for p in predictions:
        assert p.label in LABELS and sum(p.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert predictions[0].scores == predictions[1].scores == dict.fromkeys(LABELS, 1 / 3)
    assert predictions[-1].label == "weather"
    assert clf.predict([]) == []
    with pytest.raises(ValueError, match="2 texts but 1 titles"):
        clf.predict(["a", "b"], titles=["t"])


def test_predict_from_several_threads(clf: ZeroShotClassifier) -> None:
    texts = [text for text, _ in KNOWN]
    expected = clf.predict(texts)
    results: list[Any] = []

    def work() -> None:
        results.append(clf.predict(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for got in results:
        assert [p.label for p in got] == [p.label for p in expected]
        assert [p.scores for p in got] == [pytest.approx(p.scores, abs=1e-5) for p in expected]


def test_version_follows_weights_labels_and_hypothesis(nli: Path, clf: ZeroShotClassifier) -> None:
    assert re.fullmatch(r"tiny-nli@[0-9a-f]{12}\+labels:[0-9a-f]{8}", clf.version)

    def version(labels: dict[str, str], hypothesis: str = HYPOTHESIS, **kw: Any) -> str:
        return ZeroShotClassifier(str(nli), labels, hypothesis=hypothesis, **kw).version

    # Not the order of the labels, nor the batch size or length: the same taxonomy on the same model.
    reordered = dict(reversed(list(LABELS.items())))
    assert version(reordered) == version(LABELS, batch_size=1, max_length=32) == clf.version
    changed = {
        version({**LABELS, "politics_society": "chính trị, xã hội"}),
        version({k: v for k, v in LABELS.items() if k != "weather"}),
        version({**LABELS, "weather": "thời tiết"}),
        version({"sport": "bóng đá", "business": "chứng khoán", "weather": "mưa lũ"}),
        version(LABELS, "Bài viết về {}."),
    }
    assert len(changed) == 5 and clf.version not in changed
    assert {v.split("+")[0] for v in changed} == {clf.version.split("+")[0]}


def test_a_model_that_is_not_nli_fails_to_load(tmp_path: Path) -> None:
    sentiment = build_tiny_classifier(tmp_path / "sent", ["negative", "neutral", "positive"], name="tiny-sentiment")
    with pytest.raises(ModelLoadError, match="not an NLI model") as err:
        ZeroShotClassifier(str(sentiment), LABELS).load()
    message = str(err.value)
    assert str(sentiment) in message and "negative, neutral, positive" in message and "\n" not in message


def test_missing_model_fails_to_load(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such directory") as err:
        ZeroShotClassifier(str(tmp_path / "nope"), LABELS).predict(["x"])
    assert "nope" in str(err.value)


def test_bad_label_sets_are_config_errors(nli: Path) -> None:
    for labels, hypothesis, message in [
        ({}, HYPOTHESIS, "label set is empty"),
        ({"sports": " "}, HYPOTHESIS, "has no phrase"),
        ({"sports": "bóng đá", "football": "bóng  đá"}, HYPOTHESIS, "same phrase"),
        (LABELS, "Văn bản này nói về thể thao.", "no {} where"),
        (LABELS, "Văn bản này nói về {topic}.", "not a template"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)) as err:
            ZeroShotClassifier(str(nli), labels, hypothesis=hypothesis)
        assert "\n" not in str(err.value)
    # A hypothesis that leaves no room for the text within max_length: refused at load.
    with pytest.raises(ConfigError, match="no room for the text within max_length 8"):
        ZeroShotClassifier(str(nli), LABELS, hypothesis=HYPOTHESIS, max_length=8).load()


def test_tagger_and_eval_use_the_configured_label_set(nli: Path, tmp_path: Path) -> None:
    """With ``enrich.topic_labels`` set, the tagger and ``mediawatch enrich eval`` classify topics
    zero-shot over exactly those labels."""
    import json
    import os
    import subprocess
    import sys

    from enrich.tagger import Tagger
    from mediawatch.config import EnrichSettings

    sentiment = build_tiny_classifier(tmp_path / "sentiment", ["negative", "neutral", "positive"], name="tiny-s")
    settings = EnrichSettings(
        topic_model=str(nli), topic_labels=LABELS, topic_hypothesis=HYPOTHESIS, sentiment_model=str(sentiment),
        max_length=48, device="cpu", topic_min_words=0, topic_min_confidence=0,  # short sentences, all topical
    )
    tagger = Tagger(settings)
    assert isinstance(tagger.topic, ZeroShotClassifier)
    docs = [{"title": None, "text": text, "language": "vi"} for text, _ in KNOWN]
    docs.append({"title": "x", "text": "Heavy rain floods the city", "language": "en"})
    tags = tagger.tag(docs)
    assert [t.topic for t in tags] == [label for _, label in KNOWN] + ["unknown"]
    assert all({t["label"] for t in tag.topics} <= set(LABELS) for tag in tags[:-1])
    assert "+labels:" in tagger.versions["topic"]

    data = tmp_path / "known.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "text": text, "topic": label}, ensure_ascii=False) + "\n"
                            for i, (text, label) in enumerate(KNOWN)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(
        MEDIAWATCH_ENRICH__TOPIC_MODEL=str(nli), MEDIAWATCH_ENRICH__TOPIC_LABELS=json.dumps(LABELS),
        MEDIAWATCH_ENRICH__TOPIC_HYPOTHESIS=HYPOTHESIS, MEDIAWATCH_ENRICH__MAX_LENGTH="48",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mediawatch", "enrich", "eval", "--data", str(data), "--split", "all", "--json"],
        env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    topic = json.loads(proc.stdout)["topic"]
    assert topic["macro_f1"] == 1.0 and topic["accuracy"] == 1.0
    assert set(topic["per_label"]) == set(LABELS)


def test_bad_zero_shot_config_is_a_one_line_error(nli: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(MEDIAWATCH_ENRICH__TOPIC_MODEL=str(nli), MEDIAWATCH_ENRICH__TOPIC_LABELS='{"sports": "bóng đá"}',
               MEDIAWATCH_ENRICH__TOPIC_HYPOTHESIS="no slot here")
    proc = subprocess.run(
        [sys.executable, "-m", "mediawatch", "models", "list"], env=env, capture_output=True, text=True,
        timeout=60, cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 2, proc.stderr
    assert "topic_hypothesis" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
