"""Work off the reactor thread: small executors owned by the components that use them, and a bridge
from their futures back to Twisted Deferreds (fired on the reactor thread)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

T = TypeVar("T")


def executor(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """A dedicated thread pool (never the reactor's shared one, which DNS resolution also uses)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"mediawatch-{name}")


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
