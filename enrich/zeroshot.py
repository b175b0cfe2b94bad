"""Zero-shot topic classification through a multilingual NLI model, with a label set from the config.

``ZeroShotClassifier(model, {"politics_society": "chính trị, xã hội", "sports": "thể thao"})`` has the
public interface of ``enrich.classifier.TextClassifier`` (``load``, ``version``, ``labels``,
``predict(texts, titles)`` -> one ``Prediction`` per text), so the tagger can use either for topics.

Each text is the premise and each label's phrase, put into ``hypothesis``, a hypothesis; the
transformers ``zero-shot-classification`` pipeline scores every pair and takes a softmax of the
entailment logits over the labels (single-label). ``Prediction.label`` and the keys of
``Prediction.scores`` are the label ids, never the phrases. The premise is ``title. text``, cut to
``max_length`` tokens; the hypothesis is never cut.

``version`` is ``<name>@<weights sha256[:12]>+labels:<sha256[:8] of the label set and hypothesis>``:
changing the taxonomy or the hypothesis changes it, so ``mediawatch enrich backfill`` re-tags.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from enrich.classifier import (
    ModelLoadError,
    Prediction,
    _usable_length,
    clip_to_tokens,
    load_pretrained,
    model_version,
    resolve_device,
)
from mediawatch.errors import ConfigError

DEFAULT_HYPOTHESIS = "This text is about {}."
# Characters of a premise handed to the tokenizer per token kept: far more than any real text needs
# (Vietnamese and English average under 6), so only pathological inputs (a 1 MB text) are cut here.
CHARS_PER_TOKEN = 32
_SENTENCE_END = (".", "!", "?", "…", ":", ";")


def entailment_id(label2id: Mapping[str, int]) -> int | None:
    """The id of the model's entailment class, found as the pipeline finds it (a label starting with
    ``entail``, any case); ``None`` for a model that has none, i.e. not an NLI model."""
    for label, index in label2id.items():
        if label.lower().startswith("entail"):
            return int(index)
    return None


def _check_labels(labels: Mapping[str, str], hypothesis: str) -> dict[str, str]:
    if not isinstance(labels, Mapping):
        raise ConfigError(f"zero-shot topics: the label set must map label ids to phrases, not {type(labels).__name__}")
    if not labels:
        raise ConfigError("zero-shot topics: the label set is empty; give the labels as label id: phrase")
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for label, phrase in labels.items():
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"zero-shot topics: label id {label!r} must be a non-empty string")
        if not isinstance(phrase, str) or not phrase.strip():
            raise ConfigError(f"zero-shot topics: label {label!r} has no phrase to put into the hypothesis")
        phrase = " ".join(phrase.split())
        if phrase in seen:
            raise ConfigError(
                f"zero-shot topics: labels {seen[phrase]!r} and {label!r} have the same phrase {phrase!r}"
            )
        seen[phrase] = label
        clean[label] = phrase
    try:
        filled = hypothesis.format("\0")
    except (IndexError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"zero-shot topics: hypothesis {hypothesis!r} is not a template with one {{}}: {exc}"
        ) from None
    if "\0" not in filled:
        raise ConfigError(f"zero-shot topics: hypothesis {hypothesis!r} has no {{}} where the label phrase goes")
    return clean


def premise(text: str | None, title: str | None = None) -> str:
    """``title. text`` (no second full stop when the title ends a sentence already); either may be empty."""
    text = (text or "").strip()
    title = " ".join((title or "").split())
    if not title:
        return text
    if not text:
        return title
    return f"{title} {text}" if title.endswith(_SENTENCE_END) else f"{title}. {text}"


class ZeroShotClassifier:
    """An NLI model applied zero-shot to a configured label set. Thread-safe lazy load; ``predict``
    may be called from several threads (calls into the pipeline, which keeps per-call state, take
    turns).

    ``labels`` maps the label id stored in the index to the phrase put into ``hypothesis`` (which has
    one ``{}``). ``batch_size`` counts premise/hypothesis pairs per forward pass: each text costs one
    pair per label. ``chunks`` is always 1 (only the start of the text is read), as for a
    ``TextClassifier`` without windows."""

    chunks = 1

    def __init__(
        self,
        name_or_path: str,
        labels: Mapping[str, str],
        *,
        hypothesis: str = DEFAULT_HYPOTHESIS,
        device: str = "auto",
        max_length: int = 256,
        batch_size: int = 32,
        local_files_only: bool = True,
    ) -> None:
        self.label_phrases = _check_labels(labels, hypothesis)
        self.hypothesis = hypothesis
        self.name_or_path = name_or_path
        self.device_setting = device
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self.local_files_only = local_files_only
        self._by_phrase = {phrase: label for label, phrase in self.label_phrases.items()}
        self._lock = threading.Lock()
        self._infer_lock = threading.Lock()
        self._pipeline: Any = None
        self._tokenizer: Any = None
        self._version: str | None = None
        self.device = "cpu"

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> ZeroShotClassifier:
        """Load model, tokenizer and pipeline once (later calls return at once)."""
        if self._pipeline is not None:
            return self
        with self._lock:
            if self._pipeline is None:
                self._load()
        return self

    def _load(self) -> None:
        from transformers import pipeline

        tokenizer, model = load_pretrained(self.name_or_path, self.local_files_only)
        where = Path(self.name_or_path)
        label2id = dict(getattr(model.config, "label2id", None) or {})
        if entailment_id(label2id) is None:
            raise ModelLoadError(
                f"model {self.name_or_path!r} at {where.resolve()} is not an NLI model: its config's label2id "
                f"({', '.join(map(str, label2id)) or 'empty'}) has no 'entailment' label; zero-shot topics need a "
                "model fine-tuned on NLI (e.g. a multilingual XNLI model)"
            )
        self.max_length = _usable_length(self.max_length, tokenizer, model.config)
        # The pipeline passes no max_length: it truncates the premise (``only_first``) to the
        # tokenizer's model_max_length, so that is where our limit goes.
        tokenizer.model_max_length = self.max_length
        self._check_hypotheses_fit(tokenizer)
        self.device = resolve_device(self.device_setting)
        model.to(self.device)
        model.eval()
        try:
            pipe = pipeline("zero-shot-classification", model=model, tokenizer=tokenizer, device=self.device)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:300]
            raise ModelLoadError(f"model {self.name_or_path!r}: no zero-shot pipeline on it: {reason}") from None
        self._tokenizer = tokenizer
        self._version = f"{model_version(self.name_or_path, model.config)}+labels:{self.labels_digest()}"
        self._pipeline = pipe

    def _check_hypotheses_fit(self, tokenizer: Any) -> None:
        """Every hypothesis, with the special tokens, must leave room for the premise: the pipeline
        cuts only the premise and, when it cannot, reads the whole unbounded input instead."""
        for label, phrase in self.label_phrases.items():
            n = len(tokenizer("", self.hypothesis.format(phrase))["input_ids"])
            if n >= self.max_length:
                raise ConfigError(
                    f"zero-shot topics: the hypothesis for {label!r} ({self.hypothesis.format(phrase)!r}) is {n} "
                    f"tokens, no room for the text within max_length {self.max_length}; shorten the phrase"
                )

    def labels_digest(self) -> str:
        """First 8 hex of the SHA-256 of the label set (order-independent) and the hypothesis."""
        payload = json.dumps(
            {"labels": sorted(self.label_phrases.items()), "hypothesis": self.hypothesis}, ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]

    @property
    def version(self) -> str:
        self.load()
        assert self._version is not None
        return self._version

    @property
    def labels(self) -> list[str]:
        """The label ids, in the configured order."""
        return list(self.label_phrases)

    # -- inference -----------------------------------------------------------------------------
    def _clip(self, premises: list[str]) -> list[str]:
        """Premises cut to ``max_length`` tokens here, once per text; the pipeline then cuts what
        still does not fit beside the hypothesis. Without this it would tokenise a whole 1 MB text
        once per label."""
        limit = self.max_length
        return clip_to_tokens(self._tokenizer, [p[: limit * CHARS_PER_TOKEN] for p in premises], limit)

    def predict(self, texts: Sequence[str], titles: Sequence[str | None] | None = None) -> list[Prediction]:
        """Classify ``texts`` (with optional ``titles``) into the configured labels.

        An empty text (and title) gets the uniform prediction without running the model: the
        pipeline refuses empty premises, and there is nothing to read."""
        self.load()
        if titles is not None and len(titles) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(titles)} titles")
        labels = self.labels
        premises = [premise(text, titles[i] if titles is not None else None) for i, text in enumerate(texts)]
        results: list[Prediction | None] = [None] * len(texts)
        uniform = 1.0 / len(labels)
        for i, text in enumerate(premises):
            if not text.strip():
                results[i] = Prediction(labels[0], uniform, dict.fromkeys(labels, uniform))
        # Sorting by length keeps padding small inside each batch; results return in input order.
        order = sorted((i for i, r in enumerate(results) if r is None), key=lambda i: len(premises[i]))
        if order:
            clipped = self._clip([premises[i] for i in order])
            phrases = list(self.label_phrases.values())
            with self._infer_lock:
                outputs = self._pipeline(
                    clipped, candidate_labels=phrases, hypothesis_template=self.hypothesis, multi_label=False,
                    batch_size=self.batch_size,
                )
            for i, out in zip(order, outputs, strict=True):
                by_phrase = dict(zip(out["labels"], out["scores"], strict=True))
                scores = {label: float(by_phrase[phrase]) for label, phrase in self.label_phrases.items()}
                best = max(labels, key=scores.__getitem__)
                results[i] = Prediction(best, scores[best], scores)
        return [r for r in results if r is not None]
