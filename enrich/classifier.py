"""Text classification through Hugging Face ``transformers``: one model, loaded lazily and once,
applied in batches with dynamic padding.

``TextClassifier("enrich/models/topic-vntc").predict(texts, titles)`` -> one Prediction per text.
The model is a local directory or a hub id; loading failures name the model and the path.
Inputs are truncated so the title and the lead survive: the title is the first segment and only
the body (second segment) is cut to ``max_length``. A model may read more than the lead: with
``chunks`` > 1 (by default the ``mediawatch_chunks`` its config records) the body is cut into up to
that many consecutive windows, each read with the title, and the windows' log-probabilities are
averaged into one prediction per text, each window weighted by its length in tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mediawatch.errors import UserError


class ModelLoadError(UserError):
    """A model that cannot be loaded; the message names the model and where it was looked for."""

    exit_code = 4


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float]

    def top(self, k: int = 3, min_score: float = 0.0) -> list[tuple[str, float]]:
        ranked = sorted(self.scores.items(), key=lambda kv: kv[1], reverse=True)
        return [(label, score) for label, score in ranked[:k] if score >= min_score]


T = TypeVar("T")
# What one batch's job returns: the texts' positions and their predictions.
BatchResult = tuple[list[int], list["Prediction"]]


def resolve_device(setting: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible to torch, else ``cpu``."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CpuWorkers:
    """Threads that run whole batches side by side on the CPU, each on one intra-op thread.

    A small model's forward pass is many short ops; spread over torch's intra-op threads, the cores
    wait at every op's end. Whole batches on separate single-threaded workers keep them busy, and each
    worker tokenises its own next batch on its own core instead of beside the model's threads
    (``bench/tagging_bench.py`` measures both schedules). The threads start on first use; the
    process-wide thread count torch gives new threads is left as it was. Starting them also turns the
    Rust tokenizers' own thread pool off for the process (``TOKENIZERS_PARALLELISM=false``, unless
    the environment already says otherwise): the workers keep the cores busy already."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _start(self) -> ThreadPoolExecutor:
        import torch

        default = torch.get_num_threads()

        def single_threaded() -> None:
            torch.get_num_threads()  # torch sets a thread's count on first use, from the process default
            torch.set_num_threads(1)  # ...so settle it first, then this thread's own count

        pool = ThreadPoolExecutor(self.count, thread_name_prefix="mediawatch-infer", initializer=single_threaded)
        started = threading.Barrier(self.count, timeout=60)
        list(pool.map(lambda _: started.wait(), range(self.count)))  # every thread up and set now
        torch.set_num_threads(default)  # set_num_threads also moved the process default: put it back
        # Each worker tokenises on its own core; the tokenizer's thread pool would only contend with them.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        return pool

    def run(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Each job's result, in the order given; jobs start in that order (put the longest first)."""
        with self._lock:
            if self._pool is None:
                self._pool = self._start()
            pool = self._pool
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]


def _usable_length(wanted: int, tokenizer: Any, config: Any) -> int:
    """``wanted`` capped by what the model can take (its position table, its tokenizer's limit)."""
    limits = [wanted]
    if 0 < (tokenizer.model_max_length or 0) < 1_000_000:
        limits.append(int(tokenizer.model_max_length))
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        # RoBERTa-family models reserve two positions for the padding offset.
        limits.append(positions - 2 if config.model_type in ("roberta", "xlm-roberta", "camembert") else positions)
    return min(limits)


#: Entries of oneDNN's primitive cache (its default is 1,024). On the CPU, torch runs each GELU through
#: oneDNN, which builds and caches a primitive for every tensor shape it sees; every tagging batch is padded
#: to its own widths, so a long-running process (a crawl, the scheduler) kept filling the cache, and the
#: memory around it stayed fragmented: tagging 300 random batches of articles and posts peaked at 1,583 MB
#: with the default, 1,258 MB with 16 entries and 1,168 MB with none, for about 1 % and 8 % more tagging
#: CPU (bench/README.md, "Crawl memory"). Sixteen keep the hits inside one forward pass (each layer sees
#: the shape of the one before) and drop the shapes of past batches.
ONEDNN_CACHE_CAPACITY = 16


def limit_onednn_cache(capacity: int = ONEDNN_CACHE_CAPACITY) -> bool:
    """Cap oneDNN's primitive cache for this process (:data:`ONEDNN_CACHE_CAPACITY`); True if applied.
    oneDNN reads ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` when it builds its first primitive, so this must run
    before any model does (``load_pretrained`` calls it); a value already in the environment is kept."""
    if "ONEDNN_PRIMITIVE_CACHE_CAPACITY" in os.environ or "DNNL_PRIMITIVE_CACHE_CAPACITY" in os.environ:
        return False
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(capacity)
    return True


def load_pretrained(name_or_path: str, local_files_only: bool = True) -> tuple[Any, Any]:
    """``(tokenizer, sequence-classification model)`` from a local directory or a hub id; any failure
    is a ``ModelLoadError`` naming the model and the path."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our CLI shows its own progress
    hf_logging.set_verbosity_error()
    limit_onednn_cache()  # before the first forward pass builds a primitive

    where = Path(name_or_path)
    if not where.exists() and (name_or_path.startswith((".", "/")) or where.suffix):
        raise ModelLoadError(f"model {name_or_path!r}: no such directory {where.resolve()}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
        model = AutoModelForSequenceClassification.from_pretrained(name_or_path, local_files_only=local_files_only)
    except Exception as exc:  # transformers raises OSError, ValueError, EnvironmentError…
        hint = "" if where.exists() else " (not a local directory; pull it first: mediawatch models pull NAME)"
        reason = " ".join(str(exc).split())[:300]
        raise ModelLoadError(f"model {name_or_path!r} failed to load from {where.resolve()}{hint}: {reason}") from None
    return tokenizer, model


# Beside the weights, the files that decide a local model's outputs (labels, windows read, tokens,
# calibration, the linear head averaged with the transformer: its weights are ``head.safetensors``).
VERSIONED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "calibration.json",
                   "head.json")
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """How a model directory's scores become calibrated probabilities (its ``calibration.json``):
    ``softmax(log-probabilities / temperature)``, averaged with the linear head's calibrated
    probabilities (``enrich.linear_head``, its own temperature in ``head.json``) with ``head_weight``."""

    temperature: float = 1.0
    head_weight: float = 0.0

    @classmethod
    def read(cls, directory: str) -> Calibration:
        path = Path(directory) / CALIBRATION_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(float(data.get("temperature", 1.0)), float(data.get("head_weight", 0.0)))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ModelLoadError(f"model {directory!r}: unreadable {CALIBRATION_FILE} ({exc})") from None


def model_version(name_or_path: str, config: Any) -> str:
    """``<name>@<first 12 hex of a SHA-256>`` of a local model's weights and the files beside them
    that decide its outputs (``VERSIONED_FILES``), else the hub revision. A change to any of them
    is a new version, which ``mediawatch enrich backfill`` applies to stored documents."""
    where = Path(name_or_path)
    name = getattr(config, "mediawatch_name", None) or where.name or name_or_path
    weights = sorted(where.glob("*.safetensors")) or sorted(where.glob("*.bin"))
    if weights:
        digest = hashlib.sha256()
        for path in [*weights, *(where / f for f in VERSIONED_FILES)]:
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return f"{name}@{digest.hexdigest()[:12]}"
    revision = getattr(config, "_commit_hash", None) or "unknown"
    return f"{name}@{str(revision)[:12]}"


def clip_to_tokens(tokenizer: Any, texts: list[str], limit: int) -> list[str]:
    """``texts`` cut (at a token's end) to at most ``limit`` tokens of ``tokenizer``; texts with no
    more characters than ``limit`` are left alone without tokenising (fewer chars: fewer tokens)."""
    long = [i for i, text in enumerate(texts) if len(text) > limit]
    if not long:
        return texts
    enc = tokenizer(
        [texts[i] for i in long], add_special_tokens=False, return_offsets_mapping=True, truncation=True,
        max_length=limit + 1,
    )
    clipped = list(texts)
    for i, offsets in zip(long, enc["offset_mapping"], strict=True):
        if len(offsets) > limit:
            clipped[i] = texts[i][: offsets[limit - 1][1]]
    return clipped


def transformers_windows(
    tokenizer: Any, texts: list[str], firsts: list[str] | None, chunks: int, max_length: int
) -> tuple[dict[str, Any], list[int]]:
    """What ``WindowEncoder.encode`` builds, through the ``transformers`` tokenizer call (overflowing
    tokens, ``only_second`` truncation): for tokenizers it does not cover, and as its reference. Texts
    without a title take the single-text form (``[CLS] text [SEP]``), as in training."""
    titled = [] if firsts is None else [i for i, first in enumerate(firsts) if first]
    if titled and len(titled) < len(texts):
        assert firsts is not None
        has_title = set(titled)
        untitled = [i for i in range(len(texts)) if i not in has_title]
        with_titles = ([texts[i] for i in titled], [firsts[i] for i in titled])
        parts = [
            transformers_windows(tokenizer, *with_titles, chunks, max_length),
            transformers_windows(tokenizer, [texts[i] for i in untitled], None, chunks, max_length),
        ]
        return _merge_batches(parts, [titled, untitled], tokenizer)
    common: dict[str, Any] = {"max_length": max_length, "return_tensors": "pt"}
    if chunks > 1:
        common["return_overflowing_tokens"] = True
    if titled:
        enc = tokenizer(firsts, texts, truncation="only_second", padding=True, **common)
    else:
        enc = tokenizer(texts, truncation=True, padding=True, **common)
    if chunks == 1:
        return dict(enc), list(range(len(texts)))
    owner = [int(i) for i in enc.pop("overflow_to_sample_mapping").tolist()]
    keep, seen = [], [0] * len(texts)
    for row, text in enumerate(owner):
        if seen[text] < chunks:
            keep.append(row)
        seen[text] += 1
    batch = dict(enc)
    if len(keep) < len(owner):
        import torch

        index = torch.tensor(keep)
        batch = {key: value[index] for key, value in batch.items()}
        owner = [owner[row] for row in keep]
    return batch, owner


def _merge_batches(
    parts: list[tuple[dict[str, Any], list[int]]], positions: list[list[int]], tokenizer: Any
) -> tuple[dict[str, Any], list[int]]:
    """Encoded batches of disjoint subsets of the texts (``positions``: each subset's indices) as one,
    rows in text order, padded to the widest."""
    import torch

    width = max(batch["input_ids"].shape[1] for batch, _ in parts)
    pads = {"input_ids": tokenizer.pad_token_id, "token_type_ids": tokenizer.pad_token_type_id or 0}
    rows: list[tuple[int, int, int]] = []  # (text, part, row in part)
    for p, (_, owner) in enumerate(parts):
        rows.extend((positions[p][text], p, r) for r, text in enumerate(owner))
    rows.sort()
    merged = {}
    for name in parts[0][0]:
        padded = []
        for batch, _ in parts:
            value = batch[name]
            extra = torch.full((value.shape[0], width - value.shape[1]), pads.get(name, 0), dtype=value.dtype)
            pieces = (extra, value) if tokenizer.padding_side == "left" else (value, extra)
            padded.append(torch.cat(pieces, dim=1))
        merged[name] = torch.stack([padded[p][r] for _, p, r in rows])
    return merged, [text for text, _, _ in rows]


def _private_tokenizer(serialized: str) -> Any:
    """A Rust tokenizer of its own, without truncation or padding."""
    from tokenizers import Tokenizer

    rust = Tokenizer.from_str(serialized)
    rust.no_truncation()
    rust.no_padding()
    return rust


def _without_leading_nfc(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The tokenizer spec without the NFC step its normalizer starts with, or ``None`` if it has none."""
    steps = spec.get("normalizer") or {}
    if steps.get("type") == "NFC":
        return {**spec, "normalizer": None}
    if steps.get("type") == "Sequence" and steps["normalizers"][:1] == [{"type": "NFC"}]:
        return {**spec, "normalizer": {**steps, "normalizers": steps["normalizers"][1:]}}
    return None


# Characters on which BERT's normalizer does no more than lowercase, and map \t \n \r and the
# no-break space to a space: ASCII, Latin-1 and Latin Extended letters (Vietnamese included),
# combining accents, and common punctuation and currency signs. Not in it: controls and format
# characters (removed), other spaces, CJK (spaced out), Greek (final sigma), and currency signs newer
# than the Unicode tables of the tokenizer's control-character test (it removes what they lack).
_PLAIN_TEXT = re.compile("[\t\n\r\x20-\x7e\xa0-\xac\xae-\u036f\u1e00-\u1eff\u2010-\u2027\u2030-\u205e\u20a0-\u20bd]*")
_SPACES = ("\t", "\n", "\r", "\xa0")


@dataclass(frozen=True)
class PlainNormalizer:
    """What a ``[NFC,] BertNormalizer(strip_accents=False)`` normalizer does to NFC text made only of
    ``_PLAIN_TEXT`` characters, done in Python (a few string calls in C) so the Rust tokenizer can
    skip its normalizer, which tracks character alignments through every step. Other text returns
    ``None`` and goes through the tokenizer's own normalizer."""

    nfc: bool
    lowercase: bool
    clean_text: bool

    @classmethod
    def of(cls, spec: dict[str, Any]) -> PlainNormalizer | None:
        without_nfc = _without_leading_nfc(spec)
        steps = (without_nfc or spec).get("normalizer") or {}
        rest = steps.get("normalizers", []) if steps.get("type") == "Sequence" else [steps]
        if len(rest) != 1 or rest[0].get("type") != "BertNormalizer":
            return None
        bert = rest[0]
        lowercase = bool(bert.get("lowercase", True))
        strip = bert.get("strip_accents")
        if strip or (strip is None and lowercase):  # unset strip_accents follows lowercase in BERT
            return None
        return cls(nfc=without_nfc is not None, lowercase=lowercase, clean_text=bool(bert.get("clean_text", True)))

    def __call__(self, text: str) -> str | None:
        if not _PLAIN_TEXT.fullmatch(text) or (self.nfc and not unicodedata.is_normalized("NFC", text)):
            return None
        if self.lowercase:
            text = text.lower()
        if self.clean_text:
            for space in _SPACES:
                if space in text:
                    text = text.replace(space, " ")
        return text


# The post-processor's template: (sequence index or None for special tokens, their ids, token type) runs.
Layout = list[tuple[int | None, list[int], int]]


class WindowEncoder:
    """The model inputs ``encode_chunks`` builds, straight from the Rust tokenizer under a fast
    ``transformers`` tokenizer: the same windows, special tokens, token types and padding as the
    ``transformers`` call with ``truncation="only_second"`` and overflow, a third cheaper. Texts are
    tokenised once without special tokens and cut into windows here, instead of the Rust side copying
    a whole encoding per overflow window and ``transformers`` converting each back in Python. The
    special-token layout is read from the tokenizer's own post-processor (a probe pair), so it holds
    for BERT's ``[CLS] a [SEP] b [SEP]`` and RoBERTa's ``<s> a </s></s> b </s>`` alike."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        serialized = tokenizer.backend_tokenizer.to_str()
        spec = json.loads(serialized)
        self.rust = _private_tokenizer(serialized)  # its own settings, shared by none
        # Text that is NFC already (what extraction stores) skips a leading NFC step: same tokens, a
        # quarter of the tokenizer's time.
        without_nfc = _without_leading_nfc(spec)
        self.rust_for_nfc = None if without_nfc is None else _private_tokenizer(json.dumps(without_nfc))
        # Plain text (most news) skips the normalizer altogether, normalised in Python instead.
        self.plain = PlainNormalizer.of(spec)
        without_normalizer = json.dumps({**spec, "normalizer": None})
        self.rust_for_plain = None if self.plain is None else _private_tokenizer(without_normalizer)
        self.max_length = max_length
        self.pad_id, self.pad_type = int(tokenizer.pad_token_id), int(tokenizer.pad_token_type_id or 0)
        self.left_padding = tokenizer.padding_side == "left"
        self.names = [n for n in tokenizer.model_input_names if n in ("input_ids", "token_type_ids", "attention_mask")]
        self.single = self._layout(self.rust.encode("a", add_special_tokens=True))
        self.pair = self._layout(self.rust.encode("a", "b", add_special_tokens=True))
        # Special tokens each form adds (what a window's budget loses to them).
        self.single_specials, self.pair_specials = (
            sum(len(ids) for sequence, ids, _ in layout if sequence is None) for layout in (self.single, self.pair)
        )

    @staticmethod
    def _layout(probe: Any) -> Layout:
        runs: Layout = []
        for token, sequence, type_id in zip(probe.ids, probe.sequence_ids, probe.type_ids, strict=True):
            if sequence is None:
                if runs and runs[-1][0] is None and runs[-1][2] == type_id:
                    runs[-1][1].append(token)
                else:
                    runs.append((None, [token], type_id))
            elif not runs or runs[-1][0] != sequence:
                runs.append((sequence, [], type_id))
        return runs

    @classmethod
    def of(cls, tokenizer: Any, max_length: int) -> WindowEncoder | None:
        """One for ``tokenizer``, or ``None`` (the ``transformers`` call is used then) when it is not a
        fast tokenizer with a padding token or its template is not one run per sequence."""
        if not getattr(tokenizer, "is_fast", False) or tokenizer.pad_token is None:
            return None
        encoder = cls(tokenizer, max_length)
        for layout, sequences in ((encoder.single, [0]), (encoder.pair, [0, 1])):
            if [sequence for sequence, _, _ in layout if sequence is not None] != sequences:
                return None
        return encoder

    def _row(self, layout: Layout, parts: list[list[int]]) -> tuple[list[int], list[int]]:
        ids: list[int] = []
        types: list[int] = []
        for sequence, specials, type_id in layout:
            piece = specials if sequence is None else parts[sequence]
            ids.extend(piece)
            types.extend([type_id] * len(piece))
        return ids, types

    def _ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens (``encode_batch_fast``: no character offsets). Each
        text goes to the cheapest tokenizer that gives its tokens: normalised here when plain, without
        the NFC step when NFC, else through the whole normalizer."""
        routes: dict[int, tuple[Any, list[int], list[str]]] = {}
        for n, text in enumerate(texts):
            prepared = None if self.plain is None else self.plain(text)
            if prepared is not None:
                rust = self.rust_for_plain
            elif self.rust_for_nfc is not None and unicodedata.is_normalized("NFC", text):
                rust, prepared = self.rust_for_nfc, text
            else:
                rust, prepared = self.rust, text
            _, positions, inputs = routes.setdefault(id(rust), (rust, [], []))
            positions.append(n)
            inputs.append(prepared)
        ids: list[list[int]] = [[] for _ in texts]
        for rust, positions, inputs in routes.values():
            encode = getattr(rust, "encode_batch_fast", rust.encode_batch)
            for n, encoding in zip(positions, encode(inputs, add_special_tokens=False), strict=True):
                ids[n] = encoding.ids
        return ids

    def encode(self, texts: list[str], firsts: list[str] | None, chunks: int) -> tuple[dict[str, Any], list[int]]:
        import numpy as np
        import torch

        bodies = self._ids(texts)
        heads = [[]] * len(texts) if firsts is None else self._ids(firsts)
        rows: list[tuple[list[int], list[int]]] = []
        owner: list[int] = []
        for n, (head, body) in enumerate(zip(heads, bodies, strict=True)):
            paired = firsts is not None and bool(firsts[n])  # no title: the single-text form, as trained
            layout, specials = (self.pair, self.pair_specials) if paired else (self.single, self.single_specials)
            budget = max(1, self.max_length - specials - len(head))
            for start in range(0, max(1, len(body)), budget)[:chunks]:
                window = body[start : start + budget]
                rows.append(self._row(layout, [head, window] if paired else [window]))
                owner.append(n)
        width = max((len(ids) for ids, _ in rows), default=0)
        ids_array = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        types_array = np.full((len(rows), width), self.pad_type, dtype=np.int64)
        mask_array = np.zeros((len(rows), width), dtype=np.int64)
        for r, (ids, types) in enumerate(rows):
            span = slice(width - len(ids), width) if self.left_padding else slice(0, len(ids))
            ids_array[r, span] = ids
            types_array[r, span] = types
            mask_array[r, span] = 1
        arrays = {"input_ids": ids_array, "token_type_ids": types_array, "attention_mask": mask_array}
        return {name: torch.from_numpy(arrays[name]) for name in self.names}, owner


class TextClassifier:
    """A sequence-classification model with its tokenizer. Thread-safe lazy load; ``predict`` is
    safe to call from several threads (inference runs under ``torch.inference_mode``)."""

    def __init__(
        self,
        name_or_path: str,
        *,
        device: str = "auto",
        max_length: int = 256,
        batch_size: int = 32,
        local_files_only: bool = True,
        chunks: int | None = None,
    ) -> None:
        self.name_or_path = name_or_path
        self.chunks_setting = chunks
        self.chunks = max(1, chunks or 1)
        self.device_setting = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.local_files_only = local_files_only
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._windows: WindowEncoder | None = None
        self._version: str | None = None
        self.calibration = Calibration()
        self.head: Any = None  # enrich.linear_head.LinearHead, when the model directory ships one
        self.device = "cpu"

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> TextClassifier:
        """Load model and tokenizer once (later calls return at once)."""
        if self._model is not None:
            return self
        with self._lock:
            if self._model is None:
                self._load()
        return self

    def _load(self) -> None:
        tokenizer, model = load_pretrained(self.name_or_path, self.local_files_only)
        self.max_length = _usable_length(self.max_length, tokenizer, model.config)
        recorded = max(1, int(getattr(model.config, "mediawatch_chunks", 1) or 1))
        self.chunks = max(1, self.chunks_setting or recorded)
        self.device = resolve_device(self.device_setting)
        model.to(self.device)
        model.eval()
        self._windows = WindowEncoder.of(tokenizer, self.max_length)
        if Path(self.name_or_path).is_dir():
            from enrich.linear_head import LinearHead

            self.calibration = Calibration.read(self.name_or_path)
            head = LinearHead.load(self.name_or_path) if self.calibration.head_weight > 0 else None
            labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
            if head is not None and head.labels != labels:
                raise ModelLoadError(f"model {self.name_or_path!r}: the linear head's labels {head.labels} are not "
                                     f"the model's {labels}")
            self.head = head
        self._tokenizer, self._model = tokenizer, model
        self._version = model_version(self.name_or_path, model.config)
        if self.chunks != recorded:  # reading more or fewer windows changes the tags: another version
            self._version += f"+chunks:{self.chunks}"

    @property
    def version(self) -> str:
        self.load()
        assert self._version is not None
        return self._version

    @property
    def labels(self) -> list[str]:
        self.load()
        config = self._model.config
        return [config.id2label[i] for i in range(config.num_labels)]

    # -- inference -----------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> Any:
        """Tokenise one batch: dynamic padding, title kept whole, body truncated."""
        return self.encode_chunks(texts, titles, chunks=1)[0]

    def encode_chunks(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None, chunks: int | None = None
    ) -> tuple[dict[str, Any], list[int]]:
        """Tokenise one batch into up to ``chunks`` inputs per text (title + consecutive, non-overlapping
        windows of the body; a text without a title is read alone) and the text each input belongs to.
        ``WindowEncoder`` builds them for fast tokenizers, the ``transformers`` call for the others."""
        self.load()
        chunks = self.chunks if chunks is None else max(1, chunks)
        texts = [t or "" for t in texts]
        firsts = self._clip_titles([title or "" for title in titles]) if titles is not None and any(titles) else None
        if self._windows is not None:
            return self._windows.encode(texts, firsts, chunks)
        return transformers_windows(self._tokenizer, texts, firsts, chunks, self.max_length)

    def _clip_titles(self, titles: list[str]) -> list[str]:
        """Titles cut to half the length budget: ``only_second`` truncation fails on the whole batch
        when a first segment alone is longer than ``max_length``."""
        return clip_to_tokens(self._tokenizer, titles, max(1, self.max_length // 2))

    def forward(self, batch: Any) -> Any:
        """Logits for an encoded batch (the bare model call, also used by the benchmark)."""
        import torch

        with torch.inference_mode():
            inputs = {k: v.to(self.device) for k, v in batch.items()}
            return self._model(**inputs).logits

    @staticmethod
    def combine(logits: Any, owner: Sequence[int], n: int, lengths: Any = None) -> Any:
        """Per-text probabilities from per-input logits: the mean of each text's log-probabilities,
        weighted by the inputs' ``lengths`` in tokens (so a short last window counts for what it
        holds), renormalised. A single input per text gives its plain softmax."""
        return TextClassifier.mean_logprobs(logits, owner, n, lengths).softmax(dim=-1)

    @staticmethod
    def mean_logprobs(logits: Any, owner: Sequence[int], n: int, lengths: Any = None) -> Any:
        """Per-text log-probabilities from per-input logits, before renormalising: the mean of each
        text's inputs' log-probabilities weighted by their ``lengths`` (``combine`` is its softmax)."""
        import torch

        logprobs = logits.float().log_softmax(dim=-1).cpu()
        if len(owner) == n:
            return logprobs
        weights = torch.ones(len(owner)) if lengths is None else lengths.float().cpu()
        index = torch.tensor(owner)
        total = torch.zeros((n, logprobs.shape[1])).index_add_(0, index, logprobs * weights.unsqueeze(1))
        count = torch.zeros(n).index_add_(0, index, weights)
        return total / count.clamp(min=1e-9).unsqueeze(1)

    def calibrated(self, logprobs: Any, head_logits: Any = None) -> Any:
        """Probabilities (a torch tensor) from the transformer's per-text log-probabilities: temperature-
        scaled, and averaged with the linear head's calibrated probabilities (from ``head_logits``) when
        the model ships a head (``calibration.json``: ``head_weight``). Takes tensors or numpy arrays."""
        import torch

        probs = (torch.as_tensor(logprobs).float() / self.calibration.temperature).softmax(dim=-1)
        if self.head is None or head_logits is None:
            return probs
        head = (torch.as_tensor(head_logits).float() / self.head.config.temperature).softmax(dim=-1)
        weight = self.calibration.head_weight
        return (1 - weight) * probs + weight * head

    def scores_of(
        self, logits: Any, owner: Sequence[int], n: int, lengths: Any = None, head_texts: Sequence[str] | None = None
    ) -> Any:
        """Calibrated per-text probabilities (``n x labels``) from an encoded batch's logits."""
        head_logits = None if self.head is None or head_texts is None else self.head.logits(head_texts)
        return self.calibrated(self.mean_logprobs(logits, owner, n, lengths), head_logits)

    def batches(self, texts: Sequence[str], parts: int = 1) -> list[list[int]]:
        """Positions of ``texts`` in batches of up to ``batch_size``, by length (small padding inside a
        batch); smaller batches when that makes at least ``parts`` of them."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i] or ""))
        size = max(1, min(self.batch_size, -(-len(order) // max(1, parts))))
        return [order[start : start + size] for start in range(0, len(order), size)]

    def _read(
        self, batch: dict[str, Any], owner: list[int], n: int, head_texts: Sequence[str] | None = None
    ) -> list[Prediction]:
        """Predictions for the ``n`` texts of an encoded batch (``head_texts``: what the linear head
        reads, when the model has one)."""
        labels = self.labels
        mask = batch.get("attention_mask")
        lengths = None if mask is None else mask.sum(dim=1)
        predictions = []
        for row in self.scores_of(self.forward(batch), owner, n, lengths, head_texts).tolist():
            best = max(range(len(row)), key=row.__getitem__)
            predictions.append(Prediction(labels[best], row[best], dict(zip(labels, row, strict=True))))
        return predictions

    def _encode_batch(
        self, texts: Sequence[str], titles: Sequence[str | None] | None, idx: list[int]
    ) -> tuple[dict[str, Any], list[int]]:
        return self.encode_chunks([texts[i] for i in idx], [titles[i] for i in idx] if titles else None)

    def _head_texts(
        self, texts: Sequence[str], titles: Sequence[str | None] | None, idx: list[int]
    ) -> list[str] | None:
        if self.head is None:
            return None
        from enrich.linear_head import head_text

        return [head_text(texts[i] or "", titles[i] if titles else None) for i in idx]

    def _run_batch(self, texts: Sequence[str], titles: Sequence[str | None] | None, idx: list[int]) -> BatchResult:
        return idx, self._read(*self._encode_batch(texts, titles, idx), len(idx), self._head_texts(texts, titles, idx))

    def plan(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None, parts: int = 1
    ) -> list[Callable[[], BatchResult]]:
        """``predict``'s work as one job per batch, longest batch first: each tokenises, runs and
        reads its batch. With ``parts`` > 1 the batches are small enough to make at least that many."""
        self.load()
        _check_titles(texts, titles)
        return [partial(self._run_batch, texts, titles, idx) for idx in reversed(self.batches(texts, parts))]

    def components(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None
    ) -> tuple[Any, Any]:
        """The two scores ``predict`` calibrates and averages, uncalibrated, as numpy arrays in text order:
        the transformer's per-text log-probabilities (``texts x labels``) and the linear head's logits
        (``None`` without a head). For calibrating and evaluating; ``calibrated`` maps them to ``predict``'s
        probabilities."""
        import numpy as np

        self.load()
        _check_titles(texts, titles)
        logprobs = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        head = None if self.head is None else np.zeros_like(logprobs)
        for idx in self.batches(texts):
            batch, owner = self._encode_batch(texts, titles, idx)
            mask = batch.get("attention_mask")
            lengths = None if mask is None else mask.sum(dim=1)
            logprobs[idx] = self.mean_logprobs(self.forward(batch), owner, len(idx), lengths).numpy()
            if head is not None:
                head[idx] = self.head.logits(self._head_texts(texts, titles, idx))
        return logprobs, head

    def predict(
        self, texts: Sequence[str], titles: Sequence[str | None] | None = None, workers: CpuWorkers | None = None
    ) -> list[Prediction]:
        """Classify ``texts`` (with optional ``titles``) in batches of ``batch_size``. On the CPU with
        ``workers`` of more than one thread, batches run side by side, one per worker; otherwise one
        at a time, the next batch tokenised on a helper thread while the model runs (both release
        the GIL)."""
        self.load()
        _check_titles(texts, titles)
        if workers is not None and workers.count > 1 and self.device == "cpu":
            return gather(workers.run(self.plan(texts, titles, workers.count)), len(texts))
        batches = self.batches(texts)
        results: list[BatchResult] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize") as pool:
            pending = pool.submit(self._encode_batch, texts, titles, batches[0]) if batches else None
            for n, idx in enumerate(batches):
                assert pending is not None
                batch, owner = pending.result()
                if n + 1 < len(batches):
                    pending = pool.submit(self._encode_batch, texts, titles, batches[n + 1])
                results.append((idx, self._read(batch, owner, len(idx), self._head_texts(texts, titles, idx))))
        return gather(results, len(texts))


def _check_titles(texts: Sequence[str], titles: Sequence[str | None] | None) -> None:
    if titles is not None and len(titles) != len(texts):
        raise ValueError(f"{len(titles)} titles for {len(texts)} texts")


def gather(results: Sequence[BatchResult], n: int) -> list[Prediction]:
    """The ``n`` predictions of a plan's batch results, in text order."""
    out: list[Prediction | None] = [None] * n
    for idx, predictions in results:
        for i, prediction in zip(idx, predictions, strict=True):
            out[i] = prediction
    missing = [i for i, p in enumerate(out) if p is None]
    if missing:
        raise RuntimeError(f"no prediction for {len(missing)} of {n} texts")
    return out  # type: ignore[return-value]
