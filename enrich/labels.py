"""Display names of the default labels: the VNTC topic taxonomy and the three sentiment classes.

Labels are stored as spelled in the training data (``politics_society``); people see these names.
A label with no entry here (a user's own taxonomy) is shown as it is spelled.
"""

from __future__ import annotations

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


def topic_name(label: str, language: Language = "vi") -> str:
    """The display name of a topic label (the label itself when it is not in the default taxonomy)."""
    return TOPIC_NAMES.get(label, {}).get(language, label)


def sentiment_name(label: str, language: Language = "vi") -> str:
    return SENTIMENT_NAMES.get(label, {}).get(language, label)
