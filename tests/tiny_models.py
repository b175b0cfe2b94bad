"""Tiny models built on the spot: they exercise the real transformers loading and inference path
without any download. ``build_tiny_classifier`` is randomly initialised (its labels are
meaningless); ``build_tiny_nli`` is trained for a few seconds and really tells topics apart."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

CORPUS = [
    "Đội tuyển bóng đá Bắc Ninh thắng trận chung kết",
    "Giá vàng tăng mạnh, thị trường chứng khoán sôi động",
    "Mưa lớn gây ngập lụt ở Từ Sơn",
    "giảng viên nhiệt tình, dễ hiểu",
    "flooding in Bac Ninh province",
]


def _bert_tokenizer(tok: Tokenizer) -> Any:
    """``tok`` as a ``PreTrainedTokenizerFast`` with BERT's special tokens and pair template (64 tokens)."""
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=64,
    )
    fast._tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return fast


def build_tiny_classifier(out: Path, labels: list[str], *, name: str, seed: int = 7) -> Path:
    """Write a 1-layer BERT classifier with a 200-token WordPiece vocabulary to ``out``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        CORPUS * 5,
        trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]),
    )
    fast = _bert_tokenizer(tok)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )
    config.mediawatch_name = name
    model = BertForSequenceClassification(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    return out


# -- a tiny NLI model that has really learnt something -------------------------------------------
# Premises are short Vietnamese sentences made of a topic's keywords and neutral filler; the model
# learns "the premise is about the hypothesis keyword's topic -> entailment, another topic ->
# contradiction, filler only -> neutral". Enough for zero-shot classification to give the right
# topic on new sentences made of these words.
NLI_TOPICS = {
    "sports": ["bóng đá", "trận đấu", "cầu thủ", "đội tuyển", "ghi bàn", "huấn luyện viên", "sân vận động", "vô địch"],
    "business": ["giá vàng", "chứng khoán", "lãi suất", "ngân hàng", "cổ phiếu", "doanh nghiệp", "tỷ giá", "xuất khẩu"],
    "weather": ["mưa lũ", "mưa lớn", "lũ lụt", "ngập", "bão", "sạt lở", "nắng nóng", "gió mạnh"],
}
NLI_FILLER = [
    "hôm nay", "theo", "tin", "cho biết", "tại", "hà nội", "người dân", "năm nay", "vừa qua", "rất", "nhiều",
    "các", "đã", "sáng", "chiều", "tỉnh", "bắc ninh", "ở", "và", "trong", "khi", "mới", "lại", "được",
]
NLI_LETTERS = "abcdeghiklmnopqrstuvxyàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ,"
NLI_HYPOTHESES = ["Văn bản này nói về {}.", "Bài viết về {}."]
NLI_LABELS = ["entailment", "neutral", "contradiction"]


def _nli_premise(rng: random.Random, topic: str | None) -> str:
    # Some premises run long, so the positions up to the model's 64 are trained too.
    if rng.random() < 0.7:
        words = rng.sample(NLI_FILLER, rng.randint(2, 5))
    else:
        words = rng.choices(NLI_FILLER, k=rng.randint(6, 24))
    if topic is not None:
        words += rng.sample(NLI_TOPICS[topic], rng.randint(1, 3))
    if rng.random() < 0.5:  # words it has never seen, read as characters or [UNK]: to be ignored
        words += ["".join(rng.choices(NLI_LETTERS, k=rng.randint(2, 6))) for _ in range(rng.randint(1, 4))]
    rng.shuffle(words)
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + rng.choice([".", "", "!"])


def _nli_pairs(rng: random.Random, n: int) -> list[tuple[str, str, int]]:
    topics = list(NLI_TOPICS)
    pairs = []
    for _ in range(n):
        template = rng.choice(NLI_HYPOTHESES)
        asked = rng.choice(topics)
        hypothesis = template.format(rng.choice(NLI_TOPICS[asked]))
        roll = rng.random()
        if roll < 0.15:
            pairs.append((_nli_premise(rng, None), hypothesis, NLI_LABELS.index("neutral")))
        elif roll < 0.55:
            pairs.append((_nli_premise(rng, asked), hypothesis, NLI_LABELS.index("entailment")))
        else:
            other = rng.choice([t for t in topics if t != asked])
            pairs.append((_nli_premise(rng, other), hypothesis, NLI_LABELS.index("contradiction")))
    return pairs


def _nli_sentences(rng: random.Random, n: int) -> tuple[list[str], list[int]]:
    """Single sentences and their topic (index in NLI_TOPICS; len(NLI_TOPICS) for none): premises
    and hypotheses alike, for the warm-up that teaches the encoder the topics."""
    topics = list(NLI_TOPICS)
    sentences, gold = [], []
    for _ in range(n):
        k = rng.randrange(len(topics) + 1)
        topic = topics[k] if k < len(topics) else None
        if topic is not None and rng.random() < 0.5:
            sentences.append(rng.choice(NLI_HYPOTHESES).format(rng.choice(NLI_TOPICS[topic])))
        else:
            sentences.append(_nli_premise(rng, topic))
        gold.append(k)
    return sentences, gold


def _batch(enc: Any, idx: Any) -> dict[str, Any]:
    """Rows ``idx`` of an encoding padded to the longest row of the whole set, cut to their own longest."""
    width = int(enc["attention_mask"][idx].sum(dim=1).max())
    return {k: v[idx, :width] for k, v in enc.items()}


def build_tiny_nli(out: Path, *, name: str = "tiny-nli", seed: int = 11, warmup: int = 200, steps: int = 500) -> Path:
    """Write a 2-layer BERT NLI model (entailment/neutral/contradiction) with its WordPiece tokenizer
    to ``out``, trained for a few seconds on synthetic pairs. Deterministic for a given seed.

    Trained in two stages: ``warmup`` steps of single-sentence topic classification (a throwaway
    head on the pooled output) so the encoder knows the topics, then ``steps`` of NLI. Trained on
    NLI alone from scratch, a model this small stays on the plateau where it only tells neutral
    (filler) premises apart (accuracy ~0.57) for thousands of steps."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    rng = random.Random(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        corpus = [*NLI_FILLER, *NLI_HYPOTHESES, *(k for words in NLI_TOPICS.values() for k in words), ".,!?"]
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        # The vocabulary: every word of the corpus whole, and every character (alone and as a
        # continuation) for words it has not seen. Built here rather than by WordPieceTrainer, whose
        # choice among equally frequent merges changes from run to run (and with it every weight).
        split = tok.pre_tokenizer.pre_tokenize_str
        words = {w for line in corpus for w, _ in split(tok.normalizer.normalize_str(line))}
        chars = {c for w in words for c in w}
        pieces = specials + sorted(words | chars | {f"##{c}" for c in chars})
        tok.model = models.WordPiece({piece: i for i, piece in enumerate(pieces)}, unk_token="[UNK]")
        fast = _bert_tokenizer(tok)
        hidden = 64
        config = BertConfig(
            vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=2 * hidden, max_position_embeddings=64, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, num_labels=len(NLI_LABELS),
            id2label=dict(enumerate(NLI_LABELS)), label2id={label: i for i, label in enumerate(NLI_LABELS)},
        )
        config.mediawatch_name = name
        model = BertForSequenceClassification(config)
        model.train()

        sentences, topics = _nli_sentences(rng, 2000)
        enc = fast(sentences, padding=True, truncation=True, max_length=64, return_tensors="pt")
        gold = torch.tensor(topics)
        head = torch.nn.Linear(hidden, len(NLI_TOPICS) + 1)
        optimizer = torch.optim.AdamW([*model.bert.parameters(), *head.parameters()], lr=1e-3)
        for _ in range(warmup):
            idx = torch.randint(0, len(sentences), (32,))
            pooled = model.bert(**_batch(enc, idx)).pooler_output
            loss = torch.nn.functional.cross_entropy(head(pooled), gold[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        pairs = _nli_pairs(rng, 4000)
        enc = fast([p for p, _, _ in pairs], [h for _, h, _ in pairs], padding=True, truncation="only_first",
                   max_length=64, return_tensors="pt")
        gold = torch.tensor([y for _, _, y in pairs])
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
        for _ in range(steps):
            idx = torch.randint(0, len(pairs), (32,))
            loss = model(**_batch(enc, idx), labels=gold[idx]).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
    finally:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    return out
