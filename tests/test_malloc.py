"""The crawl's C-heap housekeeping (``crawlers.threads``): arenas capped once, free pages given back."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pytest

from crawlers.threads import trim_malloc


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_gives_freed_heap_pages_back() -> None:
    """Many small blocks freed leave their pages in the heap (below the mmap threshold, so free() keeps
    them); malloc_trim hands them back and RSS drops."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD 1 GB: free() does not trim on its own, only malloc_trim
    try:
        blocks = [libc.malloc(64 * 1024) for _ in range(2000)]  # 125 MB in 64 KB blocks, under the threshold
        for block in blocks:
            ctypes.memset(block, 1, 64 * 1024)
        touched = _rss_kb()
        for block in reversed(blocks):
            libc.free(block)
        before = _rss_kb()
        assert trim_malloc() is True
        after = _rss_kb()
    finally:
        libc.mallopt(-1, 128 * 1024)  # back to glibc's default trim threshold
    assert touched - after > 100_000, (touched, before, after)  # most of the 125 MB went back
    assert before - after > 50_000, (touched, before, after)
