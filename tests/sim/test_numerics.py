"""A simulation runs numpy's BLAS on one thread, so that its results do not depend on the load."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from wasteroute.config import Settings
from wasteroute.simulation import loop
from wasteroute.simulation.loop import SimulationConfig, run_policy


def _blas_threads() -> list[int]:
    return [int(p["num_threads"]) for p in threadpool_info() if p.get("user_api") == "blas"]


def test_a_policy_run_uses_one_blas_thread_and_gives_the_others_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _blas_threads(), "numpy comes with a BLAS that threadpoolctl sees"
    seen: list[list[int]] = []

    def fake_run(*args: Any, **kwargs: Any) -> Any:
        seen.append(_blas_threads())
        a = np.ones((64, 64))
        return float((a @ a).sum())  # a BLAS call under the limit

    monkeypatch.setattr(loop, "_run_policy", fake_run)
    with threadpool_limits(limits=2, user_api="blas"):  # a machine with threads to spare
        before = _blas_threads()
        assert max(before) == 2
        assert run_policy({}, SimulationConfig(), "postgresql://unused", Settings()) == 64.0**3
        after = _blas_threads()
    assert seen == [[1] * len(before)]
    assert after == before
