"""Train a small BERT classifier from scratch: the offline default topic and sentiment models.

``train(examples, out_dir, TrainConfig(...))`` holds out the dev split (``enrich.data.split``), trains a
tokenizer on the training split (lowercased, NFC, diacritics kept; ``wordpiece``: syllable tokens, or
``phrases``: byte-pair merges across spaces, so frequent multi-syllable words are one token),
initialises the token embeddings from an SVD of the PPMI co-occurrence matrix of the training text
(cheap pretraining, optionally refined by a bag-of-embeddings classifier over whole texts), and trains
``BertForSequenceClassification`` with a plain torch loop: on the title and lead, or on every window
of each text (``chunks``), optionally distilling a cross-fitted TF-IDF + SVM teacher. It saves the
final moving average of the weights (``ema_decay``) or else the checkpoint with the best macro-F1 on
the dev split (or on ``valid``). The output directory loads with ``AutoTokenizer`` /
``AutoModelForSequenceClassification`` (and so with ``enrich.classifier.TextClassifier``) and holds
a ``training.json`` with the settings, data files, dev figures and history.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from enrich.data import DEV_FRACTION, Example, file_digest, label_counts, split

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)


@dataclass
class TrainConfig:
    """Everything that decides the model; recorded in ``training.json``."""

    task: str = "topic"
    name: str | None = None  # config.mediawatch_name; default: the output directory's name
    epochs: float = 4.0
    max_length: int = 256
    vocab_size: int = 12000
    tokenizer: str = "wordpiece"  # wordpiece (syllables) | phrases (multi-syllable tokens; see train_tokenizer)
    hidden_size: int = 128
    layers: int = 2
    heads: int = 2
    intermediate_size: int = 512
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.0
    clip_norm: float = 1.0
    # Cross-entropy class weights: "none", "balanced" (n / (k * n_c)) or "sqrt" (its square root).
    class_weights: str = "sqrt"
    label_smoothing: float = 0.0
    embedding_init: str = "ppmi"  # ppmi | random
    # "uniform": every attention starts uniform (key projections zero), so the untrained model is a
    # bag of (PPMI) embeddings, and attention learns where to look from there; "random": BERT's init.
    attention_init: str = "random"
    # Heads of the last layer fixed to a masked mean over the text (see _fix_mean_pool_heads).
    mean_pool_heads: int = 0
    ppmi_window: int = 5
    # Also write each token's label log-odds (from the training split) into the last dimensions.
    label_features: bool = False
    # Share of training inputs that read a random window of the text instead of its start.
    window_augment: float = 0.0
    # Epochs of a supervised bag-of-embeddings warm start on whole training texts (0: none).
    bag_epochs: int = 0
    bag_learning_rate: float = 3e-3
    # Windows trained on per document: the title plus consecutive windows of the text. Training reads
    # every window of each document as its own example; at inference their log-probabilities are
    # averaged (``read_chunks`` says how many the saved model reads).
    chunks: int = 1
    # Windows the saved model reads at inference (recorded in its config; 0: as many as in training).
    # The dev figures are taken reading that many. Reading more of a long article than training did
    # is how the model sees the rest of it: each window is scored alone and the scores averaged.
    read_chunks: int = 0
    # Decay of an exponential moving average of the weights (0: none). With it the saved model is the
    # final average, so no checkpoint is picked on the dev split and its figures stay unbiased.
    ema_decay: float = 0.0
    # Knowledge distillation: weight of a teacher's soft targets in the loss (0: gold labels only). The
    # teacher is the TF-IDF + linear SVM baseline (enrich.baseline) over whole texts, cross-fitted on the
    # training split (each text scored by a fit that never saw it); the dev split is never used.
    distill: float = 0.0
    distill_folds: int = 5
    distill_sharpness: float = 4.0  # teacher probabilities: softmax(SVM margins x sharpness)
    evals_per_epoch: int = 2
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    time_budget_min: float | None = None
    seed: int = 13
    threads: int | None = None
    dev_fraction: float = DEV_FRACTION


# Per-task defaults: topics train on the title with up to four 256-token windows of the article and
# read up to eight (nearly every article whole);
# sentiment reads sentences (the tagger caps it at 128 tokens).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "topic": {"max_length": 256, "epochs": 2.0, "vocab_size": 48000, "tokenizer": "phrases", "bag_epochs": 4,
              "chunks": 4, "read_chunks": 8, "ema_decay": 0.999, "distill": 0.5, "distill_sharpness": 2.0},
    "sentiment": {"max_length": 128, "epochs": 6.0, "vocab_size": 8000},
}


def config_for(task: str, **overrides: Any) -> TrainConfig:
    """``TrainConfig`` for ``task``: the task's defaults, then ``overrides``."""
    values = {**TASK_DEFAULTS.get(task, {}), **overrides}
    if "hidden_size" in overrides and "intermediate_size" not in overrides:
        values["intermediate_size"] = 4 * overrides["hidden_size"]
    return TrainConfig(task=task, **values)


@dataclass
class TrainResult:
    out_dir: Path
    dev: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    stopped: str = "completed"


Progress = Callable[[str, int, int, dict[str, Any]], None]


def _no_progress(stage: str, done: int, total: int, info: dict[str, Any]) -> None:
    return None


# -- tokenizer -----------------------------------------------------------------------------------
def train_tokenizer(texts: Sequence[str], vocab_size: int, max_length: int, kind: str = "wordpiece") -> Any:
    """A ``PreTrainedTokenizerFast`` with BERT templates: NFC, lowercase, diacritics kept.

    ``wordpiece``: text split at spaces and punctuation first, so a token is at most one syllable.
    ``phrases``: byte-pair merges may cross spaces (only punctuation and numbers split first), so
    frequent multi-syllable words and phrases (``du lịch``, ``nước ngoài``) become single tokens; the
    Vietnamese words a syllable tokenizer leaves to the model to compose.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind not in ("wordpiece", "phrases"):
        raise ValueError(f"unknown tokenizer kind {kind!r} (wordpiece or phrases)")
    if kind == "phrases":
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Punctuation(), pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False),
        ])
        tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
        trainer: Any = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=3, special_tokens=SPECIAL_TOKENS, show_progress=False,
            max_token_length=24,
        )
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS, continuing_subword_prefix="##",
            show_progress=False,
        )
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True),
        ]
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=max_length, padding_side="right", truncation_side="right",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


@dataclass
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    labels: list[int]


@dataclass
class Tokenized:
    """Each example's segments without special tokens: ``firsts[i]`` is the title's ids (``[]`` for an
    empty first segment, ``None`` for a single-segment input) and ``bodies[i]`` the text's ids."""

    firsts: list[list[int] | None]
    bodies: list[list[int]]
    labels: list[int]


def tokenize(tokenizer: Any, examples: Sequence[Example], task: str, label2id: dict[str, int], body_cap: int,
             rng: random.Random | None = None) -> Tokenized:
    """Titles and texts (cut to ``body_cap`` tokens). With ``rng``, half the title-less examples get an
    empty first segment, as at inference when they share a batch with titled documents."""
    firsts: list[list[int] | None] = []
    bodies: list[list[int]] = []
    for start in range(0, len(examples), 2000):
        chunk = examples[start : start + 2000]
        texts = tokenizer([ex.text for ex in chunk], add_special_tokens=False, truncation=True, max_length=body_cap)
        titled = [i for i, ex in enumerate(chunk) if ex.title]
        titles = tokenizer([chunk[i].title for i in titled], add_special_tokens=False)["input_ids"] if titled else []
        title_of = dict(zip(titled, titles, strict=True))
        for i, body in enumerate(texts["input_ids"]):
            if i in title_of:
                firsts.append(title_of[i])
            else:
                firsts.append([] if rng is not None and rng.random() < 0.5 else None)
            bodies.append(body)
    return Tokenized(firsts, bodies, [label2id[ex.labels[task]] for ex in examples])


def assemble(tok: Tokenized, max_length: int, rng: random.Random | None = None, window: float = 0.0) -> Encoded:
    """Model inputs as ``TextClassifier.encode`` makes them (``[CLS] title [SEP] text [SEP]``, only the
    text cut). With ``rng`` and ``window`` > 0, that share of the inputs reads a random window of the
    text instead of its start (augmentation: more of each article is seen over the epochs)."""
    ids: list[list[int]] = []
    types: list[list[int]] = []
    for first, body in zip(tok.firsts, tok.bodies, strict=True):
        if first is None:
            head: list[int] = [CLS_ID]
        else:
            head = [CLS_ID, *first[: max(1, max_length // 2)], SEP_ID]
        budget = max(0, max_length - len(head) - 1)
        start = 0
        if rng is not None and window > 0 and len(body) > budget and rng.random() < window:
            start = rng.randrange(0, len(body) - budget + 1)
        row = [*head, *body[start : start + budget], SEP_ID]
        ids.append(row)
        types.append([0] * len(head) + [1 if first is not None else 0] * (len(row) - len(head)))
    return Encoded(ids, types, list(tok.labels))


def chunked(tok: Tokenized, max_length: int, chunks: int) -> tuple[Encoded, list[int]]:
    """Up to ``chunks`` inputs per example, each ``[CLS] title [SEP] window [SEP]`` over consecutive,
    non-overlapping windows of the text (as ``TextClassifier.encode_chunks`` makes them), and the
    example each input belongs to."""
    ids: list[list[int]] = []
    types: list[list[int]] = []
    labels: list[int] = []
    owner: list[int] = []
    for n, (first, body, label) in enumerate(zip(tok.firsts, tok.bodies, tok.labels, strict=True)):
        head = [CLS_ID] if first is None else [CLS_ID, *first[: max(1, max_length // 2)], SEP_ID]
        budget = max(1, max_length - len(head) - 1)
        for start in range(0, max(1, len(body)), budget)[: max(1, chunks)]:
            row = [*head, *body[start : start + budget], SEP_ID]
            ids.append(row)
            types.append([0] * len(head) + [1 if first is not None else 0] * (len(row) - len(head)))
            labels.append(label)
            owner.append(n)
    return Encoded(ids, types, labels), owner


# -- cheap pretraining: PPMI + SVD word vectors ------------------------------------------------
def ppmi_embeddings(sequences: Sequence[Sequence[int]], vocab_size: int, dim: int, window: int, seed: int) -> Any:
    """Token vectors (``vocab_size x dim`` float32 tensor) from a truncated SVD of the positive PMI
    matrix of windowed co-occurrences (1/distance weights, context distribution smoothing 0.75)."""
    import numpy as np
    import torch
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd

    flat = np.fromiter((t for seq in sequences for t in (*seq, PAD_ID)), dtype=np.int64)
    doc = np.cumsum(flat == PAD_ID)  # a PAD ends each sequence: no pair crosses it
    rows, cols, weights = [], [], []
    for d in range(1, window + 1):
        left, right = flat[:-d], flat[d:]
        keep = (left >= len(SPECIAL_TOKENS)) & (right >= len(SPECIAL_TOKENS)) & (doc[:-d] == doc[d:])
        rows.append(left[keep])
        cols.append(right[keep])
        weights.append(np.full(int(keep.sum()), 1.0 / d, dtype=np.float32))
    r = np.concatenate(rows + cols)
    c = np.concatenate(cols + rows)
    w = np.concatenate(weights + weights)
    counts = sparse.coo_matrix((w, (r, c)), shape=(vocab_size, vocab_size), dtype=np.float32).tocsr()
    counts.sum_duplicates()
    total = counts.sum()
    row_sum = np.asarray(counts.sum(axis=1)).ravel()
    col_sum = np.power(np.asarray(counts.sum(axis=0)).ravel(), 0.75)
    col_sum = col_sum / col_sum.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data / total) - np.log(row_sum[coo.row] / total) - np.log(col_sum[coo.col])
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep].astype(np.float32), (coo.row[keep], coo.col[keep])), shape=counts.shape)
    u, s, _ = randomized_svd(ppmi, n_components=dim, n_iter=4, random_state=seed)
    vectors = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.where(norms > 0, vectors / np.maximum(norms, 1e-8), 0.0)
    return torch.from_numpy(vectors.astype(np.float32))


def label_ratio_features(sequences: Sequence[Sequence[int]], labels: Sequence[int], vocab_size: int,
                         num_labels: int, alpha: float = 1.0) -> Any:
    """Per token, the smoothed log-odds of appearing in a document of each label against the others
    (NBSVM's log-count ratios; ``vocab_size x num_labels``, from document frequencies)."""
    import numpy as np
    import torch

    df = np.zeros((num_labels, vocab_size), dtype=np.float64)
    docs = np.zeros(num_labels, dtype=np.float64)
    for seq, label in zip(sequences, labels, strict=True):
        df[label, np.unique(np.asarray(seq, dtype=np.int64))] += 1
        docs[label] += 1
    total_df = df.sum(axis=0)
    inside = np.log((df + alpha) / (docs[:, None] + 2 * alpha))
    outside = np.log((total_df[None, :] - df + alpha) / (docs.sum() - docs[:, None] + 2 * alpha))
    ratios = (inside - outside).T
    ratios[: len(SPECIAL_TOKENS)] = 0.0
    return torch.from_numpy(ratios.astype(np.float32))


# -- batching ------------------------------------------------------------------------------------
def length_bucketed_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort within pools of 50 batches by length, cut into batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def collate(enc: Encoded, idx: Sequence[int]) -> dict[str, Any]:
    """Dynamic padding to the longest sequence of the batch."""
    import torch

    width = max(len(enc.input_ids[i]) for i in idx)
    ids = torch.full((len(idx), width), PAD_ID, dtype=torch.long)
    types = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        n = len(enc.input_ids[i])
        ids[row, :n] = torch.tensor(enc.input_ids[i])
        types[row, :n] = torch.tensor(enc.token_type_ids[i])
        mask[row, :n] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


# -- metrics -------------------------------------------------------------------------------------
def scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, per-label precision/recall/F1/support and the confusion matrix
    (rows: gold, columns: predicted, both in ``labels`` order)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    per_label: dict[str, dict[str, float | int]] = {}
    for label, i in index.items():
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [label for label in labels if per_label[label]["support"] > 0]
    macro = sum(per_label[label]["f1"] for label in present) / len(present) if present else 0.0
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return {
        "macro_f1": macro,
        "accuracy": correct / len(gold) if gold else 0.0,
        "per_label": per_label,
        "labels": list(labels),
        "confusion": matrix,
        "n": len(gold),
    }


def _predict_ids(model: Any, enc: Encoded, batch_size: int, owner: Sequence[int] | None = None) -> list[int]:
    """Predicted label ids; with ``owner`` (input -> example), one per example from the mean of its
    inputs' log-probabilities, weighted by their lengths (as ``TextClassifier.combine``)."""
    import torch

    order = sorted(range(len(enc.labels)), key=lambda i: len(enc.input_ids[i]))
    owner = list(range(len(enc.labels))) if owner is None else owner
    examples = max(owner) + 1 if owner else 0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        total = torch.zeros((examples, model.config.num_labels))
        count = torch.zeros((examples, 1))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logprobs = model(**collate(enc, idx)).logits.float().log_softmax(dim=-1)
            rows = torch.tensor([owner[i] for i in idx])
            lengths = torch.tensor([[float(len(enc.input_ids[i]))] for i in idx])
            total.index_add_(0, rows, logprobs * lengths)
            count.index_add_(0, rows, lengths)
    model.train(was_training)
    return (total / count.clamp(min=1)).argmax(dim=-1).tolist()


def bag_embeddings(model: Any, docs: Sequence[Sequence[int]], labels: Sequence[int], num_labels: int,
                   config: TrainConfig) -> None:
    """Supervised warm start: train a mean-of-embeddings classifier (fastText-like) on the whole
    training texts, starting from the model's current token embeddings, and copy the embeddings back
    (rescaled to their previous mean norm). Tokens then carry topic evidence from entire articles."""
    import torch

    generator = torch.Generator().manual_seed(config.seed)
    weight = model.bert.embeddings.word_embeddings.weight
    bag = torch.nn.EmbeddingBag.from_pretrained(weight.detach().clone(), freeze=False, mode="mean")
    head = torch.nn.Linear(weight.shape[1], num_labels)
    optimizer = torch.optim.Adam([*bag.parameters(), *head.parameters()], lr=config.bag_learning_rate)
    tensors = [torch.tensor(doc or [UNK_ID]) for doc in docs]
    target = torch.tensor(list(labels))
    for _ in range(config.bag_epochs):
        order = torch.randperm(len(tensors), generator=generator).tolist()
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            flat = torch.cat([tensors[i] for i in idx])
            offsets = torch.tensor([0] + [len(tensors[i]) for i in idx[:-1]]).cumsum(0)
            loss = torch.nn.functional.cross_entropy(head(bag(flat, offsets)), target[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        trained = bag.weight.detach()
        before = weight.norm(dim=1).mean()
        weight.copy_(trained * (before / trained.norm(dim=1).mean()))


def teacher_targets(rows: Sequence[Example], task: str, labels: Sequence[str], folds: int, sharpness: float,
                    seed: int) -> Any:
    """Cross-fitted soft targets (``len(rows) x len(labels)`` float tensor) from the TF-IDF + linear SVM
    baseline: the rows are dealt into ``folds`` folds and each fold is scored by a fit on the others."""
    import numpy as np
    import torch

    from enrich.baseline import example_text, train_baseline

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    fold_of = np.empty(len(rows), dtype=np.int64)
    for position, i in enumerate(order):
        fold_of[i] = position % folds
    margins = np.full((len(rows), len(labels)), -10.0, dtype=np.float32)  # labels a fit never saw: ~0
    for fold in range(folds):
        held = np.flatnonzero(fold_of == fold)
        fit = train_baseline([rows[i] for i in np.flatnonzero(fold_of != fold)], task)
        scores = fit.pipeline.decision_function([example_text(rows[i]) for i in held])
        classes = [str(c) for c in fit.pipeline.classes_]
        if scores.ndim == 1:  # two classes: one margin, for the second
            scores = np.stack([-scores, scores], axis=1)
        for column, label in enumerate(classes):
            margins[held, list(labels).index(label)] = scores[:, column]
    return torch.from_numpy(margins * sharpness).softmax(dim=-1)


def _fix_mean_pool_heads(model: Any, heads: int) -> None:
    """Make the first ``heads`` attention heads of the last layer a masked mean over the sequence:
    their key projection is zero (so every unmasked position scores the same) and stays zero (its
    gradient is masked). The [CLS] output that the classifier reads then carries a mean-pooled view
    of the whole text, as a plain ``BertForSequenceClassification`` that loads anywhere."""
    import torch

    attention = model.bert.encoder.layer[-1].attention.self
    width = attention.attention_head_size * min(heads, attention.num_attention_heads)
    mask = torch.ones_like(attention.key.weight)
    mask[:width] = 0
    bias_mask = torch.ones_like(attention.key.bias)
    bias_mask[:width] = 0
    with torch.no_grad():
        attention.key.weight.mul_(mask)
        attention.key.bias.mul_(bias_mask)
    attention.key.weight.register_hook(lambda grad: grad * mask)
    attention.key.bias.register_hook(lambda grad: grad * bias_mask)


def _readable(directory: Path) -> None:
    """Files as readable as the umask allows (safetensors writes weights as 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in directory.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


# -- training ------------------------------------------------------------------------------------
def train(
    examples: Sequence[Example], out_dir: str | Path, config: TrainConfig, *,
    data_files: Sequence[str | Path] = (), progress: Progress = _no_progress,
    valid: Sequence[Example] = (), valid_files: Sequence[str | Path] = (),
) -> TrainResult:
    """Train on the train split of ``examples`` for ``config.task`` and save the checkpoint with the
    best macro-F1 on the dev split, or on ``valid`` when given (the dev split then stays untouched
    by model selection, and its figures are those of the chosen checkpoint)."""
    import numpy as np
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the CLI shows its own progress
    started = time.monotonic()
    task = config.task
    out = Path(out_dir)
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)

    labeled = [ex for ex in examples if task in ex.labels and (ex.text or ex.title)]
    train_rows, dev_rows = split(labeled, config.dev_fraction)
    if not train_rows or not dev_rows:
        from enrich.data import DataError

        raise DataError(f"too few labeled examples for {task!r} to hold out a dev split ({len(labeled)} in all)")
    counts = label_counts(train_rows, task)
    labels = sorted(counts)
    if len(labels) < 2:
        from enrich.data import DataError

        raise DataError(f"only one {task} label in the training split ({labels[0]!r}): nothing to learn")
    label2id = {label: i for i, label in enumerate(labels)}
    dev_rows = [ex for ex in dev_rows if ex.labels[task] in label2id]

    progress("tokenizer", 0, 1, {})
    tokenizer = train_tokenizer(
        [f"{ex.title}\n{ex.text}" if ex.title else ex.text for ex in train_rows], config.vocab_size, config.max_length,
        config.tokenizer,
    )
    vocab_size = len(tokenizer)
    progress("tokenizer", 1, 1, {"vocab": vocab_size})
    chunks = max(1, config.chunks)
    body_cap = config.max_length * max(chunks, 8 if config.window_augment > 0 or config.bag_epochs else 1)
    train_tok = tokenize(tokenizer, train_rows, task, label2id, body_cap, rng)
    if chunks > 1:
        train_enc, train_owner = chunked(train_tok, config.max_length, chunks)
    else:
        train_enc, train_owner = assemble(train_tok, config.max_length), list(range(len(train_rows)))

    read_chunks = max(1, config.read_chunks or chunks)

    def held_out(rows: Sequence[Example]) -> tuple[Encoded, list[int]]:
        encoded = tokenize(tokenizer, rows, task, label2id, config.max_length * read_chunks)
        return chunked(encoded, config.max_length, read_chunks)

    dev_enc, dev_owner = held_out(dev_rows)
    valid_rows = [ex for ex in valid if ex.labels.get(task) in label2id]
    valid_enc, valid_owner = held_out(valid_rows) if valid_rows else (None, None)
    whole_docs = [([] if f is None else f) + b for f, b in zip(train_tok.firsts, train_tok.bodies, strict=True)]

    bert_config = BertConfig(
        vocab_size=vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.layers,
        num_attention_heads=config.heads, intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_length, type_vocab_size=2,
        hidden_dropout_prob=config.hidden_dropout, attention_probs_dropout_prob=config.attention_dropout,
        num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id,
        pad_token_id=PAD_ID, classifier_dropout=config.hidden_dropout,
    )
    bert_config.mediawatch_name = config.name or out.name
    bert_config.mediawatch_task = task
    bert_config.mediawatch_chunks = read_chunks
    model = BertForSequenceClassification(bert_config)
    if config.embedding_init == "ppmi":
        progress("embeddings", 0, 1, {})
        vectors = ppmi_embeddings(whole_docs, vocab_size, config.hidden_size, config.ppmi_window, config.seed)
        with torch.no_grad():
            weight = model.bert.embeddings.word_embeddings.weight
            known = vectors.norm(dim=1) > 0
            # Same per-element scale as BERT's initialisation, with the direction learnt from co-occurrence.
            scale = weight.std().item() * math.sqrt(config.hidden_size)
            weight[known] = vectors[known] * scale
        if config.label_features:
            # The last num_labels dimensions carry each token's label log-odds (scaled like the rest).
            ratios = label_ratio_features(whole_docs, train_tok.labels, vocab_size, len(labels))
            with torch.no_grad():
                weight = model.bert.embeddings.word_embeddings.weight
                k = len(labels)
                weight[:, -k:] = ratios / ratios.std() * weight[len(SPECIAL_TOKENS):, :-k].std()
        if config.bag_epochs:
            bag_embeddings(model, whole_docs, train_tok.labels, len(labels), config)
        progress("embeddings", 1, 1, {})

    if config.mean_pool_heads:
        _fix_mean_pool_heads(model, config.mean_pool_heads)
    if config.attention_init == "uniform":
        with torch.no_grad():
            for layer in model.bert.encoder.layer:
                layer.attention.self.key.weight.zero_()
                layer.attention.self.key.bias.zero_()

    n = len(train_enc.labels)
    input_counts = Counter(labels[i] for i in train_enc.labels)  # several inputs per text when chunked
    if config.class_weights == "none":
        weights = None
    else:
        freq = torch.tensor([input_counts[label] for label in labels], dtype=torch.float)
        weights = n / (len(labels) * freq)
        if config.class_weights == "sqrt":
            weights = weights.sqrt()
        weights = weights / (weights * freq / n).sum()  # mean weight over the training rows = 1
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
    soft = None
    if config.distill > 0:
        progress("teacher", 0, 1, {})
        soft = teacher_targets(train_rows, task, labels, config.distill_folds, config.distill_sharpness,
                               config.seed)
        progress("teacher", 1, 1, {})

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate, betas=(0.9, 0.98), eps=1e-6,
    )
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * config.epochs))
    warmup = max(1, int(total_steps * config.warmup_fraction))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    eval_every = max(1, steps_per_epoch // max(1, config.evals_per_epoch))
    dev_gold = [ex.labels[task] for ex in dev_rows]
    ema = None
    if config.ema_decay > 0:
        from torch.optim.swa_utils import AveragedModel

        def ema_step(average: Any, current: Any, updates: Any) -> Any:
            # The decay warms up ((1 + n) / (10 + n)) so short runs are not dominated by the initial weights.
            decay = min(config.ema_decay, (1 + float(updates)) / (10 + float(updates)))
            return average + (current - average) * (1 - decay)

        ema = AveragedModel(model, avg_fn=ema_step, use_buffers=True)
    best: dict[str, Any] = {"macro_f1": -1.0}
    best_selection: dict[str, Any] = {"macro_f1": -1.0}
    best_state: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    stale = 0
    stopped = "completed"
    step = 0
    running = 0.0
    deadline = started + config.time_budget_min * 60 if config.time_budget_min else None
    model.train()

    def evaluate_now() -> bool:
        nonlocal best, best_selection, best_state, stale
        scored = model if ema is None else ema.module
        pred = [labels[i] for i in _predict_ids(scored, dev_enc, 64, dev_owner)]
        result = scores(dev_gold, pred, labels)
        entry = {
            "step": step, "epoch": round(step / steps_per_epoch, 3), "train_loss": round(running, 4),
            "dev_macro_f1": round(result["macro_f1"], 4), "dev_accuracy": round(result["accuracy"], 4),
            "seconds": round(time.monotonic() - started, 1),
        }
        selection = result
        if valid_enc is not None:
            valid_pred = [labels[i] for i in _predict_ids(scored, valid_enc, 64, valid_owner)]
            selection = scores([ex.labels[task] for ex in valid_rows], valid_pred, labels)
            entry["valid_macro_f1"] = round(selection["macro_f1"], 4)
            entry["valid_accuracy"] = round(selection["accuracy"], 4)
        history.append(entry)
        # With a weight average the last one is kept whatever the figures say (nothing is picked on dev).
        improved = ema is not None or selection["macro_f1"] > best_selection["macro_f1"]
        if improved:
            best, best_selection = result, selection
            best_state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
            stale = 0
        else:
            stale += 1
        progress("eval", step, total_steps, entry)
        return improved

    while step < total_steps and stopped == "completed":
        if config.window_augment > 0 and chunks == 1:
            train_enc = assemble(train_tok, config.max_length, rng, config.window_augment)
        for batch_idx in length_bucketed_batches([len(x) for x in train_enc.input_ids], config.batch_size, rng):
            batch = collate(train_enc, batch_idx)
            target = torch.tensor([train_enc.labels[i] for i in batch_idx])
            logits = model(**batch).logits
            loss = loss_fn(logits, target)
            if soft is not None:
                teacher = soft[[train_owner[i] for i in batch_idx]]
                taught = -(teacher * logits.float().log_softmax(dim=-1)).sum(dim=-1).mean()
                loss = (1 - config.distill) * loss + config.distill * taught
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            progress("train", step, total_steps, {"loss": running})
            if step % eval_every == 0 or step == total_steps:
                evaluate_now()
                if config.patience and stale >= config.patience:
                    stopped = f"early stop: no dev improvement in {config.patience} evaluations"
                    break
            if deadline and time.monotonic() > deadline:
                stopped = f"time budget of {config.time_budget_min} min reached"
                if not history or history[-1]["step"] != step:
                    evaluate_now()
                break
            if step >= total_steps:
                break

    assert best_state is not None
    model.load_state_dict(best_state)
    seconds = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    dev = {k: best[k] for k in ("macro_f1", "accuracy", "per_label", "n")}
    key = "valid_macro_f1" if valid_enc is not None else "dev_macro_f1"
    best_entry = history[-1] if ema is not None else max(history, key=lambda e: e[key])
    record = {
        "name": bert_config.mediawatch_name,
        "task": task,
        "labels": labels,
        "train_label_counts": {label: counts[label] for label in labels},
        "train_rows": len(train_rows),
        "dev_rows": len(dev_rows),
        "dev_split": f"sha256(id) in the lowest {config.dev_fraction:.0%} (enrich.data.split)",
        "data_files": [{"name": Path(p).name, "sha256": file_digest(p)} for p in data_files],
        "config": asdict(config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": step,
        "best_step": best_entry["step"],
        "checkpoint_selected_on": (
            f"none: the final moving average of the weights (decay {config.ema_decay})" if ema is not None
            else {"data_files": [Path(p).name for p in valid_files], "rows": len(valid_rows),
             "macro_f1": round(best_selection["macro_f1"], 4), "accuracy": round(best_selection["accuracy"], 4)}
            if valid_enc is not None else "dev split"
        ),
        "train_inputs": n,
        "stopped": stopped,
        "seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}",
        "dev": {
            "macro_f1": round(dev["macro_f1"], 4), "accuracy": round(dev["accuracy"], 4),
            "per_label": {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in d.items()}
                          for k, d in dev["per_label"].items()},
        },
        "history": history,
    }
    (out / "training.json").write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _readable(out)
    return TrainResult(out, dev, history, seconds, step, stopped)
