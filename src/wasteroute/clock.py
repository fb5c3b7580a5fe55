"""Where the service reads the time: one callable that returns an aware UTC ``datetime``.

A deployment reads the system clock. The API (``create_app(..., clock=)``), the plan worker
(``run_worker(..., clock=)``) and ``plan_now`` take another one, so that a whole running service can
be put at a chosen moment (the browser tests run their city on a fixed weekday morning, whatever the
machine's clock says)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time, in UTC."""
    return datetime.now(UTC)


class RunningClock:
    """A clock that starts at ``start`` (aware) and then runs at the machine's pace (monotonic)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start must be timezone-aware, got naive {start.isoformat()}")
        self.start = start.astimezone(UTC)
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)
