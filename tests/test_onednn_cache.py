"""oneDNN's primitive cache is capped before a model runs (``enrich.classifier.limit_onednn_cache``): a
long-running tagger sees a new tensor shape every batch and must not keep a primitive for each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# GELU on 20 shapes, then the first shape twice: with 16 entries the first is gone (a miss), and the repeat
# right after it hits (the cache still works). ``load_pretrained`` on a missing directory fails after it has
# capped the cache, as it does before loading any model.
SCRIPT = """
import os, torch
from enrich.classifier import ModelLoadError, load_pretrained
try:
    load_pretrained("./no-such-model")
except ModelLoadError:
    pass
print("capacity", os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), flush=True)
for width in range(1, 21):
    torch.nn.functional.gelu(torch.ones(1, width, 8))
torch.nn.functional.gelu(torch.ones(1, 1, 8))
torch.nn.functional.gelu(torch.ones(1, 1, 8))
"""


def _run(extra_env: dict[str, str]) -> tuple[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEDNN_", "DNNL_"))}
    env.update(extra_env, ONEDNN_VERBOSE="all", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    capacity = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("capacity"))
    created = [line.split(",")[3] for line in done.stdout.splitlines() + done.stderr.splitlines()
               if ",create:cache_" in line and "eltwise_gelu" in line]
    if not created:
        pytest.skip("this torch build runs GELU without oneDNN")
    return capacity, [entry.removeprefix("create:") for entry in created]


def test_cache_capped_before_the_first_primitive() -> None:
    capacity, created = _run({})
    assert capacity == "16"
    assert len(created) == 22
    assert created[:20] == ["cache_miss"] * 20
    assert created[20:] == ["cache_miss", "cache_hit"]  # the first shape was evicted; a repeat hits


def test_a_capacity_set_by_the_user_is_kept() -> None:
    capacity, created = _run({"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024"})
    assert capacity == "1024"
    assert created[20:] == ["cache_hit", "cache_hit"]  # oneDNN's default size keeps all 20 shapes
