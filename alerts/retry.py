"""When to try a failed delivery again: exponential backoff with full jitter, as pure functions.

Nothing here sleeps or schedules. The notification log records each attempt and asks:

- :func:`should_retry` — is another attempt worth making after this failure? (a retryable
  :class:`~alerts.channels.base.ChannelError` and attempts left);
- :func:`next_delay` — how long to wait before it;
- :func:`next_attempt_at` — both at once: the time of the next attempt, or ``None`` when the failure is final
  (then it is recorded as failed and shown).

``attempt`` counts attempts made so far, the failed one included: 1 after the first failure.

Backoff: the ceiling doubles with each attempt, ``base * 2 ** (attempt - 1)``, capped at ``maximum``; the
delay is drawn uniformly from ``[0, ceiling]`` ("full jitter", Brooker, *Exponential Backoff and Jitter*,
AWS Architecture Blog, 2015). Full jitter spreads the retries of many subscriptions that failed together
(one SMTP server down) so they do not come back in a burst, at the price of an occasional early retry;
it needs no memory of the previous delay, so the log only stores the attempt count. With the defaults
(``alerts.retry_base_seconds`` 30, ``alerts.retry_max_seconds`` 3600, ``alerts.max_attempts`` 8) the
seven waits between the eight attempts have ceilings of 30 s, 1, 2, 4, 8, 16 and 32 min: a delivery that keeps
failing is recorded as failed at most about 64 minutes (32 on average) after its first attempt.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from alerts.channels.base import ChannelError

# 2**62 * base overflows nothing and is far past any sensible maximum.
_MAX_EXPONENT = 62


def backoff_ceiling(attempt: int, *, base: float, maximum: float) -> float:
    """The upper bound of the delay after ``attempt`` attempts: ``min(maximum, base * 2 ** (attempt - 1))``."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if base <= 0 or maximum < 0:
        raise ValueError(f"base must be positive and maximum not negative, got base={base}, maximum={maximum}")
    return min(float(maximum), base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))


def next_delay(attempt: int, *, base: float, maximum: float, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``attempt`` failed attempts: uniform in ``[0, backoff_ceiling(...)]`` (full jitter).

    ``rng`` returns a float in ``[0, 1)`` (``random.random``); pass a seeded one for repeatable schedules."""
    ceiling = backoff_ceiling(attempt, base=base, maximum=maximum)
    return min(ceiling, max(0.0, rng() * ceiling))


def should_retry(error: ChannelError, attempt: int, max_attempts: int) -> bool:
    """True when the failure is temporary and fewer than ``max_attempts`` attempts were made."""
    return bool(error.retryable) and attempt < max_attempts


def next_attempt_at(
    error: ChannelError,
    attempt: int,
    *,
    now: datetime,
    base: float,
    maximum: float,
    max_attempts: int,
    rng: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try again after ``attempt`` failed attempts ending in ``error``; ``None``: the failure is final.

    With settings: ``next_attempt_at(err, n, now=now, base=a.retry_base_seconds, maximum=a.retry_max_seconds,
    max_attempts=a.max_attempts)`` where ``a = settings.alerts``."""
    if not should_retry(error, attempt, max_attempts):
        return None
    return now + timedelta(seconds=next_delay(attempt, base=base, maximum=maximum, rng=rng))
