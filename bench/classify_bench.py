"""Topic and sentiment quality: the shipped models against a TF-IDF + linear-SVM baseline trained in the
same run on the same rows — the report ``mediawatch enrich eval`` prints without ``--data``.

    .venv/bin/python -m bench.classify_bench [--data-dir ../shared/data] [--rounds 1000] [--json]

Sentiment (``enrich.quality.sentiment_quality``): the baseline is trained on the mix the shipped model
was trained on (``training.json`` names the corpora), and both are scored on each corpus's held-out split
(``enrich.corpora.holdout``: never trained on, never used to pick anything), on their average, and on
UIT-VSFC's own validation file. Topic (``enrich.quality.topic_quality``): both on the VNTC dev split
(``enrich.data.split``), with the calibration (expected calibration error, reliability table) and the share
of articles the tagger gives a topic rather than ``unknown``. Noise: a paired bootstrap over each split's
rows (``--rounds`` resamples); "beats" means the whole 95% interval of the difference is above 0.

This module only runs and prints that report (``mediawatch.cli.enrich.quality_report``), so the benchmark
and the command cannot drift apart; bench/README.md records its figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mediawatch.cli.enrich import quality_report
from mediawatch.config import get_settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="where the labeled files are")
    parser.add_argument("--task", choices=("sentiment", "topic", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"error: {args.data_dir} is not a directory of labeled data")
    from mediawatch.cli import console

    if not console.is_terminal:  # make bench writes to a file or a pipe: whole tables, not 80 columns
        console.width = max(console.width, 160)
    quality_report(get_settings().enrich, args.data_dir, args.task, [], args.rounds, args.json)


if __name__ == "__main__":
    main()
