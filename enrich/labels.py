"""Display names of the default labels: the VNTC topic taxonomy and the three sentiment classes.

Labels are stored as spelled in the training data (``politics_society``); people see these names.
A label with no entry here (a user's own taxonomy) is shown as it is spelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

Language = Literal["vi", "en"]

TOPIC_NAMES: dict[str, dict[Language, str]] = {
    "politics_society": {"vi": "Chính trị – Xã hội", "en": "Politics & society"},
    "lifestyle": {"vi": "Đời sống", "en": "Lifestyle"},
    "science": {"vi": "Khoa học", "en": "Science"},
    "business": {"vi": "Kinh doanh", "en": "Business"},
    "law": {"vi": "Pháp luật", "en": "Law"},
    "health": {"vi": "Sức khỏe", "en": "Health"},
    "world": {"vi": "Thế giới", "en": "World"},
    "sports": {"vi": "Thể thao", "en": "Sports"},
    "culture": {"vi": "Văn hóa", "en": "Culture"},
    "technology": {"vi": "Vi tính – Công nghệ", "en": "Technology"},
    "unknown": {"vi": "Không xác định", "en": "Unknown"},
}

SENTIMENT_NAMES: dict[str, dict[Language, str]] = {
    "negative": {"vi": "Tiêu cực", "en": "Negative"},
    "neutral": {"vi": "Trung tính", "en": "Neutral"},
    "positive": {"vi": "Tích cực", "en": "Positive"},
    "unknown": {"vi": "Không xác định", "en": "Unknown"},
}

DEFAULT_TOPICS = [label for label in TOPIC_NAMES if label != "unknown"]
SENTIMENTS = ["negative", "neutral", "positive"]
UNKNOWN = "unknown"
"""The tag of documents the models do not cover (other languages); a valid search filter value."""


def topic_name(label: str, language: Language = "vi") -> str:
    """The display name of a topic label (the label itself when it is not in the default taxonomy)."""
    return TOPIC_NAMES.get(label, {}).get(language, label)


def sentiment_name(label: str, language: Language = "vi") -> str:
    return SENTIMENT_NAMES.get(label, {}).get(language, label)


def model_labels(name_or_path: str) -> list[str] | None:
    """A local model directory's labels in id order, read from its ``config.json`` (``id2label``) without
    loading weights; None when that cannot be read (a hub id, a missing directory)."""
    try:
        id2label = json.loads((Path(name_or_path) / "config.json").read_text(encoding="utf-8"))["id2label"]
        return [str(id2label[key]) for key in sorted(id2label, key=int)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def searchable_topics(topic_model: str, zero_shot_labels: Mapping[str, str]) -> list[str] | None:
    """Topic values documents can carry: the zero-shot labels when configured, else the model's labels,
    plus ``unknown``; None when the model's labels cannot be read without loading it."""
    labels = list(zero_shot_labels) if zero_shot_labels else model_labels(topic_model)
    return None if labels is None else [*labels, *([UNKNOWN] if UNKNOWN not in labels else [])]


def searchable_sentiments(sentiment_model: str) -> list[str]:
    """Sentiment values documents can carry: the model's labels (default: negative, neutral, positive), plus
    ``unknown``."""
    labels = model_labels(sentiment_model) or SENTIMENTS
    return [*labels, *([UNKNOWN] if UNKNOWN not in labels else [])]
