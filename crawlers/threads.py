"""Work off the reactor thread: small executors owned by the components that use them, and a bridge
from their futures back to Twisted Deferreds (fired on the reactor thread)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

T = TypeVar("T")

#: glibc malloc arenas a crawl process may use. By default glibc gives each thread that allocates an arena
#: of its own (up to 8 per core), and memory freed in one is never reused by another: a crawl's threads
#: (reactor, tagging, writers, page state, torch's) each kept their own high-water mark. Two arenas took
#: about 40 MB off the peak RSS of a crawl of the local site at scale 5 (bench/README.md, "Crawl memory");
#: the threads mostly wait on I/O or run inside torch, so contention on the shared arenas does not show.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt parameter number (malloc.h)


def executor(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """A dedicated thread pool (never the reactor's shared one, which DNS resolution also uses)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"mediawatch-{name}")


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """The process's C library, looked up once (``find_library`` runs ``ldconfig``); None off Linux or
    when it cannot be loaded."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (threads started later share them); True if applied.
    Nothing on other C libraries, nor when the environment sets ``MALLOC_ARENA_MAX`` itself."""
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:  # not glibc (musl has no mallopt)
        return False


#: Tagging batches between two ``malloc_trim`` calls (:func:`trim_malloc`). Every batch pads its tensors to its
#: own longest text, so torch asks for blocks of a new size each time and glibc keeps the freed ones: RSS
#: rose by about 40 KB a page through a crawl. Trimming after every batch held 100 batches at +13 MB instead
#: of +160 MB but cost 29 % more tagging CPU (bench/README.md, "Crawl memory"); every 16th batch costs a
#: sixteenth of that.
TRIM_EVERY_BATCHES = 16


def trim_malloc() -> bool:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim(0)``); True if anything was
    returned. Nothing on other C libraries."""
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except AttributeError:  # not glibc (musl has no malloc_trim)
        return False


def deferred_from_future(future: Future[T]) -> defer.Deferred[T]:
    """A Deferred that fires on the reactor thread with ``future``'s result or error."""
    from twisted.internet import reactor

    result: defer.Deferred[Any] = defer.Deferred()

    def fire(done: Future[T]) -> None:
        error = done.exception()
        if error is not None:
            result.errback(Failure(error))
        else:
            result.callback(done.result())

    future.add_done_callback(lambda done: reactor.callFromThread(fire, done))
    return result


async def run_in(pool: ThreadPoolExecutor, function: Any, *args: Any) -> Any:
    """``await`` ``function(*args)`` run on ``pool``."""
    from scrapy.utils.defer import maybe_deferred_to_future

    return await maybe_deferred_to_future(deferred_from_future(pool.submit(function, *args)))
