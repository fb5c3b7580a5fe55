"""The calibration's replay: a past forecast checked against the fill the container had later, also
when it was emptied in between."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from wasteroute.forecasting import ForecastParams, ReadingSeries, estimate_fill
from wasteroute.forecasting.fleet import ReplayedError, replay_errors

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC).timestamp()  # a Monday
H = 3600.0
RATE = 0.1 / 24  # 10 % a day
EMPTIED_H = (96.5, 203.5)
"""Hours after T0 at which a driver empties the container (and reports it)."""
NOW_H = 240.5


def _fill(hours: np.ndarray, emptied_h: tuple[float, ...], rate: float = RATE) -> np.ndarray:
    """The true fill: 2 % left after each emptying, then ``rate`` per hour."""
    since = hours.copy()
    for e in emptied_h:
        since = np.where(hours > e, hours - e, since)
    return 0.02 + rate * since


def _errors(
    y: np.ndarray, hours: np.ndarray, reports_h: tuple[float, ...], **params: float
) -> dict[float, ReplayedError]:
    p = ForecastParams(**params)  # type: ignore[arg-type]
    s = ReadingSeries(times_s=T0 + H * hours, fill_levels=y, emptied_at_s=T0 + H * np.array(reports_h))
    est = estimate_fill(s, now=T0 + NOW_H * H, params=p)
    return {e.anchor_h: e for e in replay_errors(s, est, similar_rate_per_h=None, params=p)}


def test_a_reading_after_an_emptying_counts_as_the_fill_the_container_would_have_had() -> None:
    hours = np.arange(0.0, 241.0)
    errors = _errors(_fill(hours, EMPTIED_H), hours, EMPTIED_H)
    origin_h = NOW_H - 72.0
    # all six anchors are scored: 3 to 24 hours before the emptying of hour 203.5, 48 and 72 after it
    assert sorted(errors) == [3.0, 6.0, 12.0, 24.0, 48.0, 72.0]
    undisturbed = _fill(np.array([origin_h + 48.0, origin_h + 72.0]), EMPTIED_H[:1])
    # the stretches' rises, and the container's rate over the hour no reading saw around the emptying
    for anchor, want in zip((48.0, 72.0), undisturbed.tolist(), strict=True):
        assert errors[anchor].observed == pytest.approx(want, abs=0.6 * RATE)  # readings on whole hours
        assert not errors[anchor].censored
    # before the emptying, the reading itself (the whole hour nearest the anchor)
    assert errors[24.0].observed == pytest.approx(
        float(_fill(np.array([origin_h + 24.0]), EMPTIED_H)[0]), abs=0.6 * RATE
    )
    # the summed value adds the noise of the three readings it takes
    assert errors[72.0].noise_sd == pytest.approx(errors[24.0].noise_sd * np.sqrt(3.0))


def test_a_container_filling_faster_than_forecast_shows_its_whole_error() -> None:
    """Twice its usual rate from the replay on, so it was emptied early: the error at three days is
    the error of the doubled rate, not left out."""
    hours = np.arange(0.0, 241.0)
    origin_h = NOW_H - 72.0
    fast = _fill(hours, (96.5,)) + np.where(hours > origin_h, RATE * (hours - origin_h), 0.0)
    emptied_at = 200.5
    fast = np.where(hours > emptied_at, 0.02 + 2 * RATE * (hours - emptied_at), fast)
    errors = _errors(fast, hours, (96.5, emptied_at))
    late = errors[72.0]
    assert late.observed - late.predicted == pytest.approx(RATE * 72.0, abs=0.05)


def test_a_saturated_reading_before_the_emptying_makes_the_value_a_lower_bound() -> None:
    hours = np.arange(0.0, 241.0)
    y = _fill(hours, EMPTIED_H, rate=0.3 / 24)
    y = np.minimum(y, 0.95)
    errors = _errors(y, hours, EMPTIED_H, saturation_level=0.95)
    assert errors[72.0].censored
    assert errors[72.0].observed >= 0.95


def test_a_report_without_a_fall_of_the_level_changes_little() -> None:
    """A report with no fall of the level behind it (the wrong container was reported): the
    stretches still add up to about what the sensor read."""
    hours = np.arange(0.0, 241.0)
    y = _fill(hours, EMPTIED_H[:1])
    errors = _errors(y, hours, (96.5, 203.5))
    for anchor in (48.0, 72.0):
        i = int(np.argmin(np.abs(hours - (NOW_H - 72.0 + anchor))))
        assert errors[anchor].observed == pytest.approx(float(y[i]), abs=1.5 * RATE)
