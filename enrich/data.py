"""Labeled examples for training and evaluating the classifiers, and the one dev split.

``read_examples(paths)`` reads JSONL or JSONL.xz lines with ``text``, optional ``title`` and ``id``,
and the labels ``topic`` and/or ``sentiment``; text is NFC-normalised. ``split(examples)`` holds out
about 10% by a stable hash of ``id`` (of the text when there is no id): training, evaluation and the
baseline all call it, so they all see the same dev split on every machine.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mediawatch.errors import UserError

TASKS = ("topic", "sentiment")
DEV_FRACTION = 0.1
# A "title" longer than this is a title run into the lead (as in VNTC's first line): it is kept as
# text, because at inference a title segment is never truncated.
MAX_TITLE_CHARS = 160


class DataError(UserError):
    """A labeled-data file that cannot be used (missing, unreadable, no labels)."""

    exit_code = 2


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    title: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def nfc(value: object) -> str:
    """NFC text with runs of whitespace kept as they are (only the ends stripped)."""
    return unicodedata.normalize("NFC", str(value)).strip() if value is not None else ""


def _title_and_text(title: str, text: str) -> tuple[str | None, str]:
    """A short title stays a title; a long one (title + lead run together) becomes the text's start."""
    if not title:
        return None, text
    if not text:
        return None, title
    if len(title) > MAX_TITLE_CHARS or text.startswith(title):
        return None, text if text.startswith(title) else f"{title}\n{text}"
    return title, text


def _open(path: Path):
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def iter_examples(path: str | Path) -> Iterable[Example]:
    """Examples in one file, in order; a broken line is a one-line DataError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    lineno = 0
    try:
        with _open(path) as lines:
            for index, line in enumerate(lines, 1):
                lineno = index
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
                title, text = _title_and_text(nfc(row.get("title")), nfc(row.get("text")))
                labels = {task: nfc(row[task]) for task in TASKS if row.get(task) not in (None, "")}
                ident = nfc(row.get("id")) or _text_key(title, text)
                yield Example(id=ident, text=text, title=title, labels=labels)
    except (ValueError, UnicodeDecodeError) as exc:
        where = f"{path}:{lineno}" if lineno else str(path)
        raise DataError(f"{where}: not JSON lines with text and labels ({' '.join(str(exc).split())[:120]})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot read ({' '.join(str(exc).split())[:120]})") from None


def read_examples(paths: Sequence[str | Path], *, require_labels: bool = True) -> list[Example]:
    """All examples of ``paths``; with ``require_labels`` a file without any label is an error."""
    examples: list[Example] = []
    for path in paths:
        rows = list(iter_examples(path))
        if require_labels and not any(ex.labels for ex in rows):
            raise DataError(f"{path}: no labeled lines (each line needs 'text' and a 'topic' or 'sentiment')")
        examples.extend(rows)
    return examples


def _text_key(title: str | None, text: str) -> str:
    return "text:" + hashlib.sha1(f"{title or ''}\n{text}".encode()).hexdigest()


def dev_bucket(example: Example) -> float:
    """A stable number in [0, 1) from the example's id (the same on every machine and Python)."""
    digest = hashlib.sha256(example.id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_dev(example: Example, fraction: float = DEV_FRACTION) -> bool:
    return dev_bucket(example) < fraction


def split(examples: Iterable[Example], fraction: float = DEV_FRACTION) -> tuple[list[Example], list[Example]]:
    """``(train, dev)``: dev holds the examples whose id hashes below ``fraction`` (about 10%)."""
    train: list[Example] = []
    dev: list[Example] = []
    for ex in examples:
        (dev if is_dev(ex, fraction) else train).append(ex)
    return train, dev


def tasks_present(examples: Iterable[Example]) -> list[str]:
    """The tasks with at least one label, in ``TASKS`` order."""
    seen = {task for ex in examples for task in ex.labels}
    return [task for task in TASKS if task in seen]


def infer_task(examples: Sequence[Example]) -> str:
    """The one task present in the labels; a file with both needs ``--task``."""
    present = tasks_present(examples)
    if not present:
        raise DataError("no labels found: each line needs a 'topic' or 'sentiment' field")
    if len(present) > 1:
        raise DataError(f"the data has labels for {', '.join(present)}: choose one with --task")
    return present[0]


def label_counts(examples: Iterable[Example], task: str) -> Counter[str]:
    return Counter(ex.labels[task] for ex in examples if task in ex.labels)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (recorded in training.json to recognise training files later)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
