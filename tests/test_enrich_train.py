"""Training, loading and evaluating the classifiers: a tiny model trained here, and the shipped ones.

The tiny data set is separable by construction (each topic has its own words), so a one-layer model
learns it every time; everything runs through the real code paths (``mediawatch enrich train`` and
``eval`` as subprocesses, ``TextClassifier`` for loading).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from enrich.classifier import TextClassifier
from enrich.data import Example, read_examples, split
from mediawatch.config import PACKAGED_MODELS, EnrichSettings

REPO = Path(__file__).resolve().parent.parent
SHIPPED_SENTIMENT = Path(EnrichSettings().sentiment_model).name

WORDS = {
    "sports": "bóng đá cầu thủ ghi bàn trận đấu huấn luyện viên đội tuyển sân cỏ giải vô địch thủ môn".split(),
    "business": "doanh nghiệp cổ phiếu lợi nhuận ngân hàng lãi suất thị trường xuất khẩu đầu tư vốn".split(),
    "health": "bệnh viện bác sĩ điều trị bệnh nhân thuốc vắc xin sức khỏe dịch bệnh khám chữa".split(),
}
FILLER = "hôm nay theo thông tin cho biết một số người tại khu vực này đã có".split()


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout,
    )


def tiny_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = list(WORDS)[i % len(WORDS)]
        words = [rng.choice(WORDS[topic]) for _ in range(8)] + [rng.choice(FILLER) for _ in range(6)]
        rng.shuffle(words)
        row = {"id": f"tiny-{seed}-{i}", "text": " ".join(words) + ".", "topic": topic}
        if i % 2:
            row["title"] = " ".join(rng.choice(WORDS[topic]) for _ in range(3)).capitalize()
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(data file, model dir)``: a 1-layer, 32-wide model trained by the CLI on 360 rows."""
    where = tmp_path_factory.mktemp("tiny")
    data = write_jsonl(where / "tiny.jsonl", tiny_rows(360, seed=1))
    out = where / "topic-tiny"
    proc = cli(
        "enrich", "train", "--data", str(data), "--out", str(out), "--epochs", "12", "--vocab-size", "500",
        "--hidden-size", "32", "--layers", "1", "--heads", "2", "--max-length", "64", "--batch-size", "16",
        "--threads", "1", "--seed", "3", "--no-head",
    )
    assert proc.returncode == 0, proc.stderr
    assert "dev macro-F1" in proc.stdout
    return data, out


def test_tiny_model_saves_a_loadable_directory(tiny: tuple[Path, Path]) -> None:
    _, out = tiny
    assert (out / "model.safetensors").is_file()
    assert (out / "tokenizer.json").is_file()
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["task"] == "topic"
    assert record["labels"] == ["business", "health", "sports"]
    assert record["config"]["hidden_size"] == 32 and record["config"]["layers"] == 1
    assert record["data_files"][0]["name"] == "tiny.jsonl"
    assert record["train_rows"] + record["dev_rows"] == 360
    assert record["dev"]["macro_f1"] > 0.9
    # The topic default tokenizer merges across spaces: some tokens are several syllables.
    assert record["config"]["tokenizer"] == "phrases"
    vocab = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    assert any(token.strip("\u2581").count("\u2581") >= 1 for token in vocab), list(vocab)[:50]


def test_tiny_model_predicts_through_text_classifier(tiny: tuple[Path, Path]) -> None:
    _, out = tiny
    classifier = TextClassifier(str(out), device="cpu", max_length=64)
    assert classifier.labels == ["business", "health", "sports"]
    assert classifier.version.startswith("topic-tiny@")
    predictions = classifier.predict(
        [
            "cầu thủ ghi bàn trong trận đấu, thủ môn của đội tuyển bất lực",
            "ngân hàng tăng lãi suất, cổ phiếu và lợi nhuận doanh nghiệp giảm",
            "BÁC SĨ BỆNH VIỆN ĐIỀU TRỊ CHO BỆNH NHÂN",  # case folds, diacritics kept
        ],
        titles=["Đội tuyển thắng", None, None],
    )
    assert [p.label for p in predictions] == ["sports", "business", "health"]
    assert all(abs(sum(p.scores.values()) - 1.0) < 1e-4 for p in predictions)


def test_long_title_does_not_break_a_batch(tiny: tuple[Path, Path]) -> None:
    _, out = tiny
    classifier = TextClassifier(str(out), device="cpu", max_length=64)
    predictions = classifier.predict(["cầu thủ ghi bàn", "ngân hàng"], titles=["bóng đá " * 200, "Lãi suất"])
    assert [p.label for p in predictions] == ["sports", "business"]


def test_topic_model_records_its_windows_and_reads_beyond_the_lead(tiny: tuple[Path, Path]) -> None:
    """The tiny topic model records 4 windows (the topic default); a text whose first window is only
    filler and whose later windows are about health is health when all windows are read, and the
    health score rises over reading the lead alone."""
    _, out = tiny
    # The topic defaults: trained on 4 windows of each text, the saved model reads up to 8.
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["mediawatch_chunks"] == 8
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert (record["config"]["chunks"], record["config"]["read_chunks"]) == (4, 8)
    rng = random.Random(5)
    every = TextClassifier(str(out), device="cpu", max_length=64).load()
    four = TextClassifier(str(out), device="cpu", max_length=64, chunks=4).load()
    lead = TextClassifier(str(out), device="cpu", max_length=64, chunks=1).load()
    filler = []
    while len(every._tokenizer(" ".join(filler), add_special_tokens=False)["input_ids"]) < 70:  # > one window
        filler += [rng.choice(FILLER) for _ in range(10)]
    text = " ".join(filler) + " " + " ".join(rng.choice(WORDS["health"]) for _ in range(120))
    lead_text = every._tokenizer.decode(lead.encode([text])["input_ids"][0], skip_special_tokens=True)
    assert not any(word in lead_text for word in ("bệnh", "bác sĩ", "thuốc", "khám")), lead_text
    assert (every.chunks, four.chunks, lead.chunks) == (8, 4, 1)
    assert lead.version == every.version + "+chunks:1" and four.version == every.version + "+chunks:4"
    batch, owner = four.encode_chunks([text, "cầu thủ"], ["Tin", None])
    assert owner == [0, 0, 0, 0, 1] and batch["input_ids"].shape[0] == 5  # 4 windows kept of more
    _, owner = every.encode_chunks([" ".join([text] * 3), "cầu thủ"], ["Tin", None])
    assert owner == [0] * 8 + [1]  # 8 windows kept of more
    [whole] = every.predict([text])
    [first] = lead.predict([text])
    assert whole.label == "health"
    assert whole.scores["health"] > first.scores["health"] + 0.2


def test_inference_windows_are_the_training_windows(tiny: tuple[Path, Path]) -> None:
    """``TextClassifier.encode_chunks`` (the tokenizer's overflow) builds exactly the inputs
    ``enrich.train.chunked`` trains on: same title, same windows, same token types."""
    from enrich.train import chunked, tokenize

    _, out = tiny
    classifier = TextClassifier(str(out), device="cpu", max_length=64).load()
    rows = [Example(id=str(i), title=title, text=" ".join(random.Random(i).choice(WORDS["health"] + FILLER)
                                                          for _ in range(n)), labels={"topic": "health"})
            for i, (title, n) in enumerate([("Bác sĩ khám bệnh", 150), ("", 40), ("Tin", 0), ("Một hai", 400)])]
    n = classifier.chunks  # 8 read; training's 4 are the first 4 of them
    enc, owner = chunked(tokenize(classifier._tokenizer, rows, "topic", {"health": 0}, 64 * n), 64, n)
    for i, ex in enumerate(rows):
        batch, got_owner = classifier.encode_chunks([ex.text], [ex.title or None] if ex.title else None)
        mask = batch["attention_mask"].bool()
        got = [row[m].tolist() for row, m in zip(batch["input_ids"], mask, strict=True)]
        types = [row[m].tolist() for row, m in zip(batch["token_type_ids"], mask, strict=True)]
        want = [j for j, o in enumerate(owner) if o == i]
        assert got == [enc.input_ids[j] for j in want], ex.title
        assert types == [enc.token_type_ids[j] for j in want]
        assert got_owner == [0] * len(want)


def test_valid_file_picks_the_checkpoint_and_dev_stays_held_out(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", tiny_rows(240, seed=11))
    valid = write_jsonl(tmp_path / "valid.jsonl", tiny_rows(60, seed=12))
    out = tmp_path / "picked"
    proc = cli(
        "enrich", "train", "--data", str(data), "--valid", str(valid), "--out", str(out), "--epochs", "3",
        "--vocab-size", "400", "--hidden-size", "16", "--layers", "1", "--heads", "1", "--max-length", "48",
        "--batch-size", "16", "--threads", "1", "--ema-decay", "0", "--chunks", "1", "--tokenizer", "wordpiece",
        "--distill", "0.5", "--distill-sharpness", "2", "--read-chunks", "2", "--no-head",
    )
    assert proc.returncode == 0, proc.stderr
    # Not a terminal: one plain line per evaluation instead of a progress bar.
    assert proc.stdout.count("dev macro-F1") >= 6, proc.stdout
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["config"]["chunks"] == 1 and record["config"]["ema_decay"] == 0
    assert record["config"]["read_chunks"] == 2
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["mediawatch_chunks"] == 2
    assert record["config"]["tokenizer"] == "wordpiece"
    assert record["config"]["distill"] == 0.5 and record["config"]["distill_sharpness"] == 2.0
    assert "##" in (out / "tokenizer.json").read_text(encoding="utf-8")  # WordPiece continuation pieces
    assert record["checkpoint_selected_on"]["data_files"] == ["valid.jsonl"]
    assert record["checkpoint_selected_on"]["rows"] == 60
    best = max(record["history"], key=lambda e: e["valid_macro_f1"])
    assert record["best_step"] == best["step"]
    assert record["dev"]["macro_f1"] == best["dev_macro_f1"]


def test_eval_json_on_tiny_model(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = tiny
    held_out = write_jsonl(tmp_path / "test.jsonl", tiny_rows(60, seed=2))
    proc = cli("enrich", "eval", "--data", str(held_out), "--split", "all", "--json", "--topic-model", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(result) == ["topic"]
    topic = result["topic"]
    assert set(topic) == {"macro_f1", "accuracy", "per_label"}
    assert topic["macro_f1"] > 0.9 and topic["accuracy"] > 0.9
    assert set(topic["per_label"]) == {"business", "health", "sports"}
    assert topic["per_label"]["sports"]["support"] == 20
    assert set(topic["per_label"]["sports"]) == {"precision", "recall", "f1", "support"}


def test_eval_tables_on_tiny_model(tiny: tuple[Path, Path]) -> None:
    data, out = tiny
    proc = cli("enrich", "eval", "--data", str(data), "--split", "dev", "--topic-model", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "macro-F1" in proc.stdout and "confusion" in proc.stdout and "sports" in proc.stdout


def test_dev_split_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    rows = tiny_rows(3000, seed=5)
    examples = read_examples([write_jsonl(tmp_path / "a.jsonl", rows)])
    train_a, dev_a = split(examples)
    train_b, dev_b = split(list(reversed(examples)))
    assert {e.id for e in dev_a} == {e.id for e in dev_b}
    assert not {e.id for e in train_a} & {e.id for e in dev_a}
    assert len(train_a) + len(dev_a) == 3000
    assert 0.08 < len(dev_a) / 3000 < 0.12
    # Without ids the text decides, so the same text lands on the same side.
    no_id = [Example(id="", text=e.text) for e in examples[:10]]
    assert split(no_id) == split(no_id)


def test_long_vntc_style_title_becomes_text(tmp_path: Path) -> None:
    lead = "Tiêu đề bài báo " + "câu mở đầu dài dòng " * 20
    rows = [
        {"id": "1", "title": lead, "text": "Phần thân.", "topic": "law"},
        {"id": "2", "title": "Tiêu đề ngắn", "text": "Phần thân.", "topic": "law"},
        {"id": "3", "title": "Chỉ có tiêu đề", "text": "", "topic": "law"},
    ]
    first, second, third = read_examples([write_jsonl(tmp_path / "t.jsonl", rows)])
    assert first.title is None and first.text.startswith("Tiêu đề bài báo") and first.text.endswith("Phần thân.")
    assert second.title == "Tiêu đề ngắn" and second.text == "Phần thân."
    assert third.title is None and third.text == "Chỉ có tiêu đề"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "not JSON lines"),
        ('{"text": "không có nhãn"}\n', "no labeled lines"),
    ],
)
def test_bad_data_file_is_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    proc = cli("enrich", "eval", "--data", str(bad), "--json")
    assert proc.returncode != 0
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


def test_missing_data_file_is_one_line_error(tmp_path: Path) -> None:
    proc = cli("enrich", "train", "--data", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "m"))
    assert proc.returncode != 0
    assert "no such file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# -- the shipped models --------------------------------------------------------------------------
def test_shipped_topic_model_labels_obvious_news() -> None:
    classifier = TextClassifier(str(PACKAGED_MODELS / "topic-vntc"), device="cpu")
    assert set(classifier.labels) == {
        "politics_society", "lifestyle", "science", "business", "law", "health", "world", "sports", "culture",
        "technology",
    }
    assert classifier.version.startswith("topic-vntc@")
    texts = {
        "sports": (
            "Đội tuyển Việt Nam thắng Thái Lan 2-0 ở chung kết AFF Cup",
            "Tiền đạo Tiến Linh ghi bàn ở phút 30, thủ môn Văn Lâm cản phá thành công quả phạt đền. "
            "Huấn luyện viên Park Hang-seo hài lòng với màn trình diễn của các cầu thủ trên sân Mỹ Đình.",
        ),
        "health": (
            "Bệnh viện Bạch Mai tiếp nhận nhiều ca sốt xuất huyết",
            "Các bác sĩ khuyến cáo người dân diệt muỗi, đến cơ sở y tế khám và điều trị khi có triệu chứng sốt cao.",
        ),
        "law": (
            "Khởi tố vụ án lừa đảo chiếm đoạt tài sản",
            "Cơ quan cảnh sát điều tra Công an TP đã bắt tạm giam bị can về hành vi lừa đảo, "
            "tòa án sẽ xét xử vụ án vào tháng tới.",
        ),
        "technology": (
            "Microsoft phát hành bản vá lỗi bảo mật cho Windows",
            "Người dùng máy tính nên cập nhật hệ điều hành và phần mềm diệt virus để tránh bị tin tặc tấn công.",
        ),
    }
    predictions = classifier.predict([body for _, body in texts.values()], [title for title, _ in texts.values()])
    assert [p.label for p in predictions] == list(texts)


def test_shipped_sentiment_model_labels_obvious_feedback() -> None:
    classifier = TextClassifier(str(PACKAGED_MODELS / SHIPPED_SENTIMENT), device="cpu", max_length=128)
    assert set(classifier.labels) == {"negative", "neutral", "positive"}
    assert classifier.version.startswith(f"{SHIPPED_SENTIMENT}@")
    texts = {
        "giảng viên nhiệt tình, dễ hiểu": "positive",
        "thầy dạy quá nhanh, không hiểu gì": "negative",
        "cô rất tận tâm và vui tính, em rất thích môn học này": "positive",
        "phòng học nóng, máy chiếu hư hoài": "negative",
    }
    assert [p.label for p in classifier.predict(list(texts))] == list(texts.values())


def test_distillation_teacher_is_cross_fitted_and_right_on_separable_data() -> None:
    from enrich.train import teacher_targets

    rows = [Example(id=r["id"], text=r["text"], title=r.get("title"), labels={"topic": r["topic"]})
            for r in tiny_rows(200, seed=4)]
    labels = ["business", "health", "sports"]
    soft = teacher_targets(rows, "topic", labels, folds=5, sharpness=4.0, seed=13)
    assert tuple(soft.shape) == (200, 3)
    assert float((soft.sum(dim=1) - 1).abs().max()) < 1e-5
    right = sum(labels[int(i)] == r.labels["topic"] for i, r in zip(soft.argmax(dim=1), rows, strict=True))
    assert right >= 190  # each row scored by a fit that never saw it, on separable data
    # Soft targets, softer with a lower sharpness (and the same ranking).
    mild = teacher_targets(rows, "topic", labels, folds=5, sharpness=1.0, seed=13)
    assert float(mild.max(dim=1).values.mean()) < float(soft.max(dim=1).values.mean()) < 1.0
    assert mild.argmax(dim=1).tolist() == soft.argmax(dim=1).tolist()


# -- training on the known corpora, with the linear head and calibration ---------------------------
FEELINGS = {
    "positive": "tuyệt vời rất tốt hài lòng thích quá đáng tiền nhiệt tình ủng hộ cảm ơn".split(),
    "negative": "tệ quá thất vọng lỗi hoài chán kém bực mình lừa đảo chậm".split(),
    "neutral": "cho hỏi ở đâu bao giờ thủ tục thông tin giờ mở cửa địa chỉ".split(),
}
SOCIAL_FILLER = "mình shop ngân hàng app điện thoại hôm qua lần này nhé ạ với".split()


def tiny_feelings(corpus: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = list(FEELINGS)[i % 3]
        words = [rng.choice(FEELINGS[label]) for _ in range(4)] + [rng.choice(SOCIAL_FILLER) for _ in range(5)]
        rng.shuffle(words)
        rows.append({"id": f"{corpus}-train-{i}", "text": " ".join(words), "sentiment": label})
    return rows


def test_train_on_named_corpora_fits_head_and_eval_reports_each_against_the_baseline(tmp_path: Path) -> None:
    """``enrich train --corpus`` trains on the corpora less their held-out splits, fits the linear head and
    the calibration, and records the corpora with their terms; ``enrich eval`` without ``--data`` scores
    each corpus's held-out split and UIT-VSFC's validation file against the baseline trained on the mix."""
    from enrich.corpora import SENTIMENT_CORPORA, holdout

    data_dir = tmp_path / "data"
    (data_dir / "sentiment").mkdir(parents=True)
    vsmec = tiny_feelings("vsmec", 300, seed=1)
    write_jsonl(data_dir / "sentiment" / "uit-vsmec-train.jsonl", vsmec)
    write_jsonl(data_dir / "sentiment" / "uts2017-bank-train.jsonl", tiny_feelings("ubs", 240, seed=2))
    write_jsonl(data_dir / "uit-vsfc-val.jsonl", tiny_feelings("vsfc-val", 60, seed=3))
    out = tmp_path / "sentiment-tiny"
    proc = cli(
        "enrich", "train", "--corpus", "uit-vsmec", "--corpus", "uts2017-bank", "--data-dir", str(data_dir),
        "--out", str(out), "--epochs", "8", "--vocab-size", "300", "--hidden-size", "16", "--layers", "1",
        "--heads", "1", "--max-length", "32", "--batch-size", "16", "--threads", "1", timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "linear head and calibration written" in proc.stdout, proc.stdout
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in record["corpora"]] == ["uit-vsmec", "uts2017-bank"]
    bank = record["corpora"][1]
    assert bank["held_out_rows"] == 60 and bank["rows_trained_from"] == 180  # a quarter of each label held out
    assert "GPL" in bank["licence"] and "research" in record["corpora"][0]["terms"]
    # The held-out rows are not among the rows trained on.
    examples = [Example(id=r["id"], text=r["text"], labels={"sentiment": r["sentiment"]}) for r in vsmec]
    _, held = holdout(examples, SENTIMENT_CORPORA["uit-vsmec"].holdout, "sentiment")
    assert record["train_rows"] + record["dev_rows"] == 255 + 180 and len(held) == 45
    ensemble = record["ensemble"]
    assert 0 <= ensemble["head_weight"] <= 1 and ensemble["temperature"] > 0
    assert {"head.safetensors", "head.json", "calibration.json"} <= {p.name for p in out.iterdir()}
    classifier = TextClassifier(str(out), device="cpu", max_length=32).load()
    assert classifier.head is not None and classifier.calibration.head_weight == ensemble["head_weight"]
    assert [p.label for p in classifier.predict(["shop tuyệt vời, rất hài lòng", "app lỗi hoài, thất vọng"])] == [
        "positive", "negative"]

    proc = cli("enrich", "eval", "--task", "sentiment", "--data-dir", str(data_dir), "--sentiment-model", str(out),
               "--rounds", "50", "--json", timeout=240)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["sentiment"]
    assert report["mix"] == ["uit-vsmec", "uts2017-bank"]
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == ["uit-vsmec", "uts2017-bank", "uit-vsfc-val"]
    assert (rows["uit-vsmec"]["n"], rows["uts2017-bank"]["n"], rows["uit-vsfc-val"]["n"]) == (45, 60, 60)
    for row in rows.values():
        assert row["model_macro_f1"] > 0.9 and row["baseline_macro_f1"] > 0.9  # separable words
        low, high = row["diff_ci95"]
        assert low <= row["diff"] <= high
    assert report["average"]["name"] == "average of 2 corpora"
    proc = cli("enrich", "eval", "--task", "sentiment", "--data-dir", str(data_dir), "--sentiment-model", str(out),
               "--rounds", "50", timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "baseline macro-F1" in proc.stdout and "uts2017-bank" in proc.stdout and "bootstrap" in proc.stdout

    proc = cli("enrich", "train", "--corpus", "no-such", "--data-dir", str(data_dir), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "unknown sentiment corpus 'no-such'" in proc.stderr


def test_shipped_sentiment_model_reads_social_media_text() -> None:
    """Comments, posts about banks and product reviews written as people write them online (no
    diacritics, abbreviations, emoji): none of them from the corpora."""
    classifier = TextClassifier(str(PACKAGED_MODELS / SHIPPED_SENTIMENT), device="cpu", max_length=128)
    texts = {
        "Shop giao hàng nhanh, đóng gói cẩn thận, sản phẩm y hình. Sẽ ủng hộ shop dài dài 😍": "positive",
        "Hàng giao thiếu, nhắn tin shop không trả lời, thất vọng thực sự": "negative",
        "app ngân hàng lại lỗi ko chuyển khoản được, gọi tổng đài mãi ko ai nghe, bực mình": "negative",
        "Pin trâu, chụp ảnh đẹp, máy chạy mượt, quá đáng tiền luôn": "positive",
        "cảm ơn chị nhân viên đã hỗ trợ nhiệt tình ạ": "positive",
        "sp dung tot, giao hang nhanh, se mua lai": "positive",
        "đọc mà tức, bọn lừa đảo này phải bắt hết đi": "negative",
        "Máy nóng khủng khiếp, mới mua 1 tuần đã hư loa": "negative",
    }
    assert [p.label for p in classifier.predict(list(texts))] == list(texts.values())
