"""Tagging through the real transformers loading and inference path, on tiny models built here,
and backfill against a real Elasticsearch node."""

from __future__ import annotations

import json
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from enrich.classifier import (
    CpuWorkers,
    ModelLoadError,
    TextClassifier,
    WindowEncoder,
    clip_to_tokens,
    transformers_windows,
)
from enrich.tagger import Tagger
from index.client import make_client
from index.mappings import docs_alias, ensure_indices
from index.writer import BulkWriter
from mediawatch.config import EnrichSettings
from tests.conftest import Cluster, free_port, run_cli
from tests.tiny_models import build_tiny_classifier

SHIPPED = Path(__file__).resolve().parent.parent / "enrich" / "models"

TOPICS = ["politics_society", "sports", "business"]
SENTIMENTS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "topic": build_tiny_classifier(root / "topic", TOPICS, name="tiny-topic"),
        "sentiment": build_tiny_classifier(root / "sentiment", SENTIMENTS, name="tiny-sentiment"),
        "topic2": build_tiny_classifier(root / "topic2", TOPICS, name="tiny-topic", seed=99),
    }


def test_classifier_loads_batches_and_keeps_input_order(tiny: dict[str, Path]) -> None:
    clf = TextClassifier(str(tiny["topic"]), max_length=32, batch_size=2)
    texts = ["Đội bóng thắng trận", "Giá vàng tăng", "x", "Mưa lớn gây ngập lụt ở Từ Sơn hôm qua"]
    together = clf.predict(texts, titles=["Thể thao", None, None, "Thời sự"])
    titles = ["Thể thao", None, None, "Thời sự"]
    alone = [clf.predict([t], titles=[title])[0] for t, title in zip(texts, titles, strict=True)]
    assert [p.label for p in together] == [p.label for p in alone]
    for a, b in zip(together, alone, strict=True):
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
        assert set(a.scores) == set(TOPICS) and sum(a.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert clf.version.startswith("tiny-topic@") and len(clf.version.split("@")[1]) == 12
    assert clf.version == TextClassifier(str(tiny["topic"])).version
    assert clf.version != TextClassifier(str(tiny["topic2"])).version


def test_bad_model_paths_name_the_model_and_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such directory") as missing:
        TextClassifier(str(tmp_path / "nope")).load()
    assert "nope" in str(missing.value) and "\n" not in str(missing.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="failed to load from") as bad:
        TextClassifier(str(broken)).load()
    assert str(broken) in str(bad.value)


WINDOW_TEXTS = [
    "Đội tuyển bóng đá Bắc Ninh thắng trận chung kết " * 40,  # many windows, more than are kept
    "",
    unicodedata.normalize("NFD", "Mưa lớn gây ngập lụt ở Từ Sơn, người dân sơ tán"),  # not NFC
    "Đội tuyển thắng 3-0 🎉⚽ Hà Nội 河内 Ханой",
    "gia vang tang manh, thi truong chung khoan soi dong",  # no diacritics
    "x",
]
WINDOW_TITLES = ["Thể thao", "", unicodedata.normalize("NFD", "Thời tiết"), "Bóng đá", "Kinh tế", "Tin"]


def _roberta_shaped(tokenizer: Any) -> Any:
    """``tokenizer`` with RoBERTa's pair template (two separators between the texts, one token type)
    and left padding: a layout other than BERT's."""
    from tokenizers.processors import TemplateProcessing

    cls, sep = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    tokenizer._tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer.padding_side = "left"
    return tokenizer


@pytest.mark.parametrize("which", ["tiny", "tiny-roberta-shaped", "topic-vntc", "sentiment-mix"])
def test_window_encoder_builds_what_the_transformers_call_builds(tiny: dict[str, Path], which: str) -> None:
    """The fast path (Rust tokenizer, windows cut here, NFC step skipped for NFC text) gives the very
    tensors of the ``transformers`` call with overflow, for every chunk count, with and without titles."""
    from transformers import AutoTokenizer

    path = SHIPPED / which if which in ("topic-vntc", "sentiment-mix") else tiny["topic"]
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if which == "tiny-roberta-shaped":
        tokenizer = _roberta_shaped(tokenizer)
    max_length = 24
    encoder = WindowEncoder.of(tokenizer, max_length)
    assert encoder is not None and encoder.rust_for_nfc is not None
    titles = clip_to_tokens(tokenizer, WINDOW_TITLES, max_length // 2)
    compared = 0
    for chunks in (1, 3):
        for firsts in (titles, None):
            got, got_owner = encoder.encode(WINDOW_TEXTS, firsts, chunks)
            want, want_owner = transformers_windows(tokenizer, WINDOW_TEXTS, firsts, chunks, max_length)
            assert got_owner == want_owner
            assert set(got) == set(want) and "input_ids" in got
            for name, tensor in want.items():
                assert got[name].tolist() == tensor.tolist(), (chunks, firsts is None, name)
                compared += 1
            assert got_owner.count(0) == chunks  # the long text fills every window it may
    assert compared >= 8
    # A text without a title takes the single-text form in a batch of titled texts too, as in training.
    mixed, _ = encoder.encode(WINDOW_TEXTS, titles, 1)
    untitled = [i for i, title in enumerate(titles) if not title]
    assert untitled == [1]
    mask = mixed["attention_mask"][1].bool()
    alone = encoder.encode([WINDOW_TEXTS[1]], None, 1)[0]["input_ids"][0].tolist()
    assert mixed["input_ids"][1][mask].tolist() == alone and len(alone) == 2  # [CLS] [SEP], no empty title
    # NFD input takes the path with the NFC step and tokenises as its NFC form does.
    nfd, nfc = WINDOW_TEXTS[2], unicodedata.normalize("NFC", WINDOW_TEXTS[2])
    ids = [encoder.encode([text], None, 1)[0]["input_ids"].tolist() for text in (nfd, nfc)]
    assert ids[0] == ids[1]


@pytest.mark.parametrize("which", ["topic-vntc", "sentiment-mix"])
def test_plain_text_normalised_in_python_tokenises_as_the_tokenizer_does(which: str) -> None:
    """Every code point up to U+2FFF (surrogates aside: not UTF-8) and a sample beyond, among
    Vietnamese words, cased and spaced: the ids from the cheapest route (plain text normalised in
    Python, NFC text without the NFC step) equal those of the whole tokenizer."""
    from transformers import AutoTokenizer

    encoder = WindowEncoder.of(AutoTokenizer.from_pretrained(str(SHIPPED / which)), 64)
    assert encoder is not None and encoder.plain is not None
    assert encoder.plain("Đà Nẵng\tMƯA\xa0Lũ\n") == "đà nẵng mưa lũ "
    assert encoder.plain("Hà Nội 河内") is None and encoder.plain("a\u200bb") is None
    assert encoder.plain(unicodedata.normalize("NFD", "Đà Nẵng")) is None  # not NFC: the tokenizer's NFC step
    points = [c for c in (*range(0x3000), *range(0x3000, 0x110000, 97)) if not 0xD800 <= c < 0xE000]  # no surrogates
    texts = [f"Ông {chr(c)}Ả x{chr(c)}{chr(c)}.  LŨ\t{chr(c).upper()} Đà" for c in points]
    texts += ["", " ", "\n\n", "İSTANBUL Σ ΟΔΟΣ", "Giá ₫100\u00a0000 – “tăng” …", "ﬁ ﬀ Ⅻ ½ ²"]
    plain = sum(encoder.plain(text) is not None for text in texts)
    assert plain > 1000  # the fast route is taken, and not for everything
    assert plain < len(texts) - 1000
    ids = encoder._ids(texts)
    want = [e.ids for e in encoder.rust.encode_batch(texts, add_special_tokens=False)]
    assert len(ids) == len(want) == len(texts)
    mismatched = [hex(points[i]) if i < len(points) else texts[i] for i in range(len(texts)) if ids[i] != want[i]]
    assert mismatched == []


def test_classifier_uses_the_window_encoder_and_falls_back_without_it(tiny: dict[str, Path]) -> None:
    clf = TextClassifier(str(tiny["topic"]), max_length=24, batch_size=4).load()
    assert clf._windows is not None
    fast = clf.predict(WINDOW_TEXTS, WINDOW_TITLES)
    clf._windows = None  # what a tokenizer without a fast backend gets
    slow = clf.predict(WINDOW_TEXTS, WINDOW_TITLES)
    for a, b in zip(fast, slow, strict=True):
        assert a.label == b.label and a.scores == pytest.approx(b.scores, abs=1e-6)


def test_windows_vote_by_their_length() -> None:
    """A text's probabilities are the softmax of its windows' log-probabilities averaged by token count:
    a 3-token tail window cannot outvote a full window."""
    import torch

    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])  # text 0: two windows; text 1: one
    lengths = torch.tensor([300, 3, 50])
    probs = TextClassifier.combine(logits, [0, 0, 1], 2, lengths)
    logp = logits.log_softmax(dim=-1)
    expected = ((300 * logp[0] + 3 * logp[1]) / 303).softmax(dim=-1)
    assert torch.allclose(probs[0], expected) and probs[0].argmax() == 0
    assert torch.allclose(probs[1], torch.tensor([0.5, 0.5]))
    unweighted = TextClassifier.combine(logits, [0, 0, 1], 2)
    assert unweighted[0].argmax() == 1  # equal votes: the tail window's confidence wins


def test_tagger_handles_bad_input_and_uncovered_languages(tiny: dict[str, Path]) -> None:
    # Every text long enough for a topic here (topic_min_words=0): the short-text rule has its own test.
    tagger = Tagger(EnrichSettings(topic_model=str(tiny["topic"]), sentiment_model=str(tiny["sentiment"]),
                                   max_length=32, batch_size=4, topic_min_words=0, topic_min_confidence=0))
    docs = [
        {"title": "Bóng đá", "text": "Đội tuyển thắng 3-0 🎉⚽", "language": "vi", "kind": "news"},
        {"title": "", "text": "", "language": "vi", "kind": "news"},
        {"title": "Flood", "text": "Flooding in Bac Ninh", "language": "en", "kind": "news"},
        {"title": None, "text": "giang vien day hay, de hieu", "language": "vi", "kind": "forum"},
        {"title": "Dài", "text": "ngập lụt " * 120_000, "language": "vi", "kind": "news"},  # ~1 MB
        {"title": "Mixed", "text": "Hà Nội 河内 Ханой 하노이 ✓", "language": "vi", "kind": "news"},
        {"text": "Đây là tiếng Việt", "language": None, "kind": "news"},
    ]
    tags = tagger.tag(docs)
    assert [t.topic == "unknown" for t in tags] == [False, True, True, False, False, False, True]
    for tag in tags:
        assert tag.sentiment["label"] in {*SENTIMENTS, "unknown"}
        if tag.topic != "unknown":
            assert tag.topic in TOPICS and tag.topics[0]["label"] == tag.topic
            assert 0 < tag.sentiment["score"] <= 1
    assert tagger.versions == {"topic": tagger.topic.version, "sentiment": tagger.sentiment.version}


def test_one_line_forum_post_gets_topic_unknown_and_an_article_its_topic() -> None:
    """The shipped models at the default settings: a one-line post carries no news topic (``unknown``,
    no candidates, sentiment still read); an article gets its section; below the calibrated confidence
    the topic is ``unknown`` with the candidates kept."""
    settings = EnrichSettings(workers=1)
    assert settings.topic_min_words > 0 and 0 < settings.topic_min_confidence < 1
    article = (
        "Đội tuyển Việt Nam thắng Thái Lan 2-0 ở chung kết. Tiền đạo Tiến Linh ghi bàn ở phút 30, thủ môn Văn "
        "Lâm cản phá thành công quả phạt đền. Huấn luyện viên hài lòng với màn trình diễn của các cầu thủ trên "
        "sân Mỹ Đình trước hơn bốn mươi nghìn khán giả, và đội sẽ sang Thái Lan đá trận lượt về vào tuần sau."
    )
    docs = [
        {"title": None, "text": "Cho mình hỏi làm lại căn cước ở phường mình mất bao lâu vậy mọi người?",
         "language": "vi", "kind": "forum"},
        {"title": "Việt Nam thắng Thái Lan", "text": article, "language": "vi", "kind": "news"},
        {"title": "Bóng đá: Việt Nam thắng Thái Lan 2-0", "text": "", "language": "vi", "kind": "news"},
    ]
    post, news, headline_only = Tagger(settings).tag(docs)
    assert (post.topic, post.topics) == ("unknown", [])
    assert post.sentiment["label"] in SENTIMENTS
    assert news.topic == "sports" and news.topics[0] == {"label": "sports", "score": news.topics[0]["score"]}
    assert news.topics[0]["score"] >= settings.topic_min_confidence
    assert headline_only.topic == "unknown"  # a headline alone is a one-liner too
    unsure = Tagger(settings.model_copy(update={"topic_min_confidence": 1.0})).tag(docs[1:2])[0]
    assert unsure.topic == "unknown" and unsure.topics[0]["label"] == "sports"


def test_linear_head_is_saved_loaded_and_averaged_with_the_calibrated_transformer(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    """A model directory with ``head.safetensors`` / ``head.json`` and ``calibration.json``: ``predict``
    gives ``(1 - w) softmax(logprobs / T) + w softmax(head logits / T_head)``, a new model version."""
    import shutil

    import numpy as np

    from enrich.calibration import mixture
    from enrich.linear_head import HeadConfig, LinearHead

    where = tmp_path / "with-head"
    shutil.copytree(tiny["sentiment"], where)
    bare = TextClassifier(str(where), max_length=32).load()
    texts = ["rất tốt, hài lòng", "tệ quá, thất vọng", "cho hỏi ở đâu", "tốt lắm, thích", "chán, kém, lỗi",
             "giờ mở cửa bao giờ"] * 5
    gold = ["positive", "negative", "neutral"] * 10
    head = LinearHead.fit(texts, gold, HeadConfig(labels=SENTIMENTS, min_df=1, temperature=0.5))
    head.save(where)
    loaded = LinearHead.load(where)
    assert loaded is not None and loaded.labels == SENTIMENTS
    assert np.allclose(loaded.logits(texts), head.logits(texts), atol=2e-2)  # float16 weights
    assert [SENTIMENTS[i] for i in loaded.logits(texts).argmax(1)] == gold
    (where / "calibration.json").write_text('{"temperature": 2.0, "head_weight": 0.7}', encoding="utf-8")
    clf = TextClassifier(str(where), max_length=32).load()
    assert clf.head is not None and clf.calibration.temperature == 2.0 and clf.version != bare.version
    logprobs, head_logits = clf.components(texts)
    want = mixture(logprobs, head_logits, 2.0, 0.5, 0.7)
    got = clf.predict(texts)
    assert np.allclose([[p.scores[label] for label in SENTIMENTS] for p in got], want, atol=1e-4)
    assert [p.label for p in got] == gold  # the head outweighs the untrained tiny transformer
    (where / "calibration.json").write_text('{"temperature": "warm"}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="calibration.json"):
        TextClassifier(str(where)).load()


def test_temperature_scaling_and_calibration_error() -> None:
    """Logits sharpened 3x from calibrated ones: the fitted temperature is about 3, and the ECE falls."""
    import numpy as np

    from enrich.calibration import ece, fit_temperature, reliability, softmax

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (20_000, 4))
    gold = np.array([rng.choice(4, p=row) for row in softmax(logits)])  # calibrated by construction
    sharp = 3 * logits
    temperature = fit_temperature(sharp, gold)
    assert 2.8 < temperature < 3.2
    assert ece(softmax(sharp), gold) > 0.1 > 0.02 > ece(softmax(sharp / temperature), gold)
    table = reliability(softmax(logits), gold)
    assert sum(row["n"] for row in table) == 20_000 and len(table) == 10


def test_cpu_workers_run_jobs_single_threaded_and_leave_torch_default_alone() -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        workers = CpuWorkers(2)
        jobs = [lambda n=n: (n, threading.current_thread().name, torch.get_num_threads()) for n in range(8)]
        seen = workers.run(jobs)
        assert [n for n, _, _ in seen] == list(range(8))  # results in job order
        assert {threads for _, _, threads in seen} == {1}
        names = {name for _, name, _ in seen}
        assert 1 <= len(names) <= 2 and all(name.startswith("mediawatch-infer") for name in names)
        assert torch.get_num_threads() == 3  # this thread, and threads started later, keep the default
        with ThreadPoolExecutor(1) as other:
            assert other.submit(torch.get_num_threads).result() == 3
        with pytest.raises(ZeroDivisionError):
            workers.run([lambda: 1, lambda: 1 // 0])
    finally:
        torch.set_num_threads(before)


def test_tagger_on_cpu_workers_tags_as_one_batch_at_a_time() -> None:
    """The shipped models, batches side by side on two workers against one at a time: same tags."""
    settings = EnrichSettings(batch_size=4, topic_min_words=0, topic_min_confidence=0)
    side_by_side = Tagger(settings.model_copy(update={"workers": 2})).load()
    in_turn = Tagger(settings.model_copy(update={"workers": 1})).load()
    assert side_by_side.parallel and not in_turn.parallel
    texts = [
        ("Bóng đá", "Đội tuyển Việt Nam thắng 3-0, tiền đạo ghi hai bàn trong hiệp hai.", "news"),
        ("Ngân hàng", "Lãi suất tiết kiệm giảm, giá vàng và chứng khoán tăng mạnh.", "news"),
        ("", "", "news"),
        ("Bệnh viện", "Bác sĩ khuyến cáo tiêm vắc xin phòng cúm cho trẻ em.", "news"),
        (None, "giảng viên dạy hay, dễ hiểu", "forum"),
        ("Dài", "ngập lụt ở Từ Sơn " * 20_000, "news"),
        ("Mixed", "Hà Nội 河内 Ханой 하노이 ✓ 🎉", "news"),
        ("Điện thoại", "Hãng ra mắt điện thoại thông minh chạy chip mới, phần mềm AI.", "news"),
        ("Tòa án", "Bị cáo bị tuyên phạt 12 năm tù về tội lừa đảo chiếm đoạt tài sản.", "news"),
    ]
    docs = [{"title": title, "text": text, "kind": kind, "language": "vi"} for title, text, kind in texts]
    parallel, sequential = side_by_side.tag(docs), in_turn.tag(docs)
    assert [t.topic for t in parallel] == [t.topic for t in sequential]
    assert [t.sentiment["label"] for t in parallel] == [t.sentiment["label"] for t in sequential]
    for a, b in zip(parallel, sequential, strict=True):
        assert a.sentiment["score"] == pytest.approx(b.sentiment["score"], abs=1e-3)
        assert [x["label"] for x in a.topics] == [x["label"] for x in b.topics]
    assert [t.topic for t in parallel][:4] == ["sports", "business", "unknown", "health"]
    assert side_by_side.topic.batches(["a", "bbb", "cc", "dddd", "e"], parts=2) == [[0, 4, 2], [1, 3]]
    assert side_by_side.topic.batches(["a"] * 9) == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


def test_backfill_tags_stale_documents_and_retags_on_new_model_version(
    cluster: Cluster, prefix: str, tmp_path: Path, tiny: dict[str, Path]
) -> None:
    settings = cluster.settings(prefix, tmp_path)
    client = make_client(settings)
    ensure_indices(client, settings)
    writer = BulkWriter(client)
    body = "Mưa lớn kéo dài khiến nhiều tuyến đường ở thành phố Từ Sơn ngập sâu, người dân phải di chuyển tài sản."
    for i in range(45):
        language = "en" if i % 9 == 0 else "vi"
        text = body if i < 3 else f"Bài số {i}: {body} Chi tiết riêng số {i} về sự kiện thứ {i * 7}."
        writer.add(docs_alias(settings), f"d{i}", {"id": f"d{i}", "url": f"http://x.test/{i}", "source": f"s{i % 3}",
                                                   "kind": "news", "title": f"Tin {i}", "text": text,
                                                   "language": language, "published": f"2026-11-{1 + i % 20:02d}"})
    writer.flush(refresh=True)
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_ENRICH__TOPIC_MODEL=str(tiny["topic"]),
                      MEDIAWATCH_ENRICH__SENTIMENT_MODEL=str(tiny["sentiment"]), MEDIAWATCH_ENRICH__BATCH_SIZE="8")
    first = run_cli("enrich", "backfill", env=env)
    assert first.returncode == 0, first.stderr
    assert "tagged 45 documents" in first.stdout
    docs = {h["_id"]: h["_source"] for h in client.search(index=docs_alias(settings), size=100)["hits"]["hits"]}
    assert all(d["models"]["topic"].startswith("tiny-topic@") for d in docs.values())
    assert {d["topic"] for i, d in docs.items() if int(i[1:]) % 9 == 0} == {"unknown"}
    assert docs["d0"]["story"] == docs["d1"]["story"] == docs["d2"]["story"]  # identical texts: one story
    assert len({d["story"] for d in docs.values()}) > 30
    assert run_cli("enrich", "backfill", env=env).stdout.count("tagged 0 documents") == 1  # nothing stale
    retag = run_cli("enrich", "backfill", env={**env, "MEDIAWATCH_ENRICH__TOPIC_MODEL": str(tiny["topic2"])})
    assert retag.returncode == 0 and "tagged 45 documents" in retag.stdout
    facets = run_cli("search", "", "--facets", "--json", env=env)
    counts = json.loads(facets.stdout)["facets"]
    assert sum(counts["topic"].values()) == 45 and counts["stories"] == len({d["story"] for d in docs.values()})


def test_model_errors_are_one_line(tmp_path: Path, cluster: Cluster, prefix: str) -> None:
    env = cluster.env(prefix, tmp_path, MEDIAWATCH_ENRICH__TOPIC_MODEL=str(tmp_path / "missing-model"))
    result = run_cli("enrich", "backfill", env=env)
    assert result.returncode == 4 and result.stderr.strip().count("\n") == 0
    assert "missing-model" in result.stderr and "Traceback" not in result.stderr
    hub = {**env, "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}", "HF_HUB_OFFLINE": "0",
           "MEDIAWATCH_ENRICH__MODELS_DIR": str(tmp_path / "models")}
    pulled = run_cli("models", "pull", "someone/some-model", env=hub)
    assert pulled.returncode == 1 and pulled.stderr.strip().count("\n") == 0
    assert "cannot pull model 'someone/some-model'" in pulled.stderr
