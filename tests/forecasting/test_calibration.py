"""Calibration of the forecast's bands and probabilities: per horizon, with tails and a prior."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wasteroute.forecasting import Calibration, FillEstimate, RateSource, WeekProfile
from wasteroute.forecasting.calibration import truth_errors
from wasteroute.forecasting.fleet import censored_sample

NOW = 1_790_000_000.0


def test_without_errors_the_calibration_is_the_normal_model() -> None:
    lo, hi = Calibration().interval(0.95)
    assert lo == pytest.approx(-1.96, abs=0.01)
    assert hi == pytest.approx(1.96, abs=0.01)
    assert Calibration().survival(1.96, 48.0) == pytest.approx(0.025, abs=1e-3)


def test_a_far_quantile_is_finite_and_beyond_the_largest_error() -> None:
    rng = np.random.default_rng(1)
    errors = rng.normal(0.0, 2.0, 200)
    cal = Calibration.from_horizons({24.0: errors})
    far = cal.quantile(1.0 - 1e-9, 24.0)
    assert math.isfinite(far)
    assert far > errors.max()
    # beyond every error a probability is small but never zero
    p = cal.survival(errors.max() + 5.0, 24.0)
    assert 0.0 < p < 1e-3
    assert cal.survival(errors.min() - 5.0, 24.0) > 1.0 - 1e-3


def test_quantiles_and_probabilities_agree_at_every_horizon() -> None:
    rng = np.random.default_rng(2)
    cal = Calibration.from_horizons(
        {6.0: rng.normal(0.0, 1.0, 150), 24.0: rng.standard_t(4, 150) * 1.5, 72.0: rng.normal(0.3, 2.0, 90)}
    )
    for h in (3.0, 6.0, 10.0, 24.0, 50.0, 72.0, 120.0):
        for p in (1e-6, 0.025, 0.3, 0.5, 0.9, 0.975, 1.0 - 1e-6):
            assert cal.survival(cal.quantile(p, h), h) == pytest.approx(1.0 - p, rel=1e-3, abs=1e-9)


def test_bands_between_anchors_lie_between_theirs() -> None:
    rng = np.random.default_rng(3)
    cal = Calibration.from_horizons({6.0: rng.normal(0.0, 1.0, 300), 24.0: rng.normal(0.0, 2.5, 300)})
    lo6, hi6 = cal.interval(0.95, 6.0)
    lo12, hi12 = cal.interval(0.95, 12.0)
    lo24, hi24 = cal.interval(0.95, 24.0)
    assert hi6 < hi12 < hi24
    assert lo24 < lo12 < lo6
    # before the first anchor and after the last the nearest anchor holds
    assert cal.interval(0.95, 1.0) == (lo6, hi6)
    assert cal.interval(0.95, 200.0) == (lo24, hi24)


def test_a_small_group_leans_on_the_normal_prior() -> None:
    # three nearly equal errors must not make the band collapse
    lo, hi = Calibration.from_horizons({24.0: [0.0, 0.05, 0.1]}).interval(0.95, 24.0)
    assert hi - lo > 2.5
    # while many wide errors widen it
    rng = np.random.default_rng(4)
    lo, hi = Calibration.from_horizons({24.0: rng.normal(0.0, 3.0, 500)}).interval(0.95, 24.0)
    assert hi - lo > 2 * 1.96 * 2.5


def test_truth_errors_take_the_readings_noise_out() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    sd = np.full(n, 0.02)  # model sd
    noise = np.full(n, 0.02)  # reading noise as large as the model sd
    truth_error = rng.normal(0.0, 1.5, n) * sd  # the model sd is 1.5 times too small
    observed = 0.5 + truth_error + rng.normal(0.0, 1.0, n) * noise
    e = truth_errors(np.full(n, 0.5), sd, observed, noise)
    assert float(np.std(e)) == pytest.approx(1.5, rel=0.08)
    assert float(np.std((observed - 0.5) / sd)) > 1.7  # the noise alone would widen it


def test_saturated_readings_count_as_lower_bounds() -> None:
    values = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 0.8, 0.9])
    censored = np.array([False] * 6 + [True, True])
    sample = censored_sample(values, censored)
    assert sample.shape == values.shape
    # the bounds' share moves above them: more of the sample lies at the top than the bounds alone
    assert float(np.mean(sample >= 1.0)) > float(np.mean(values >= 1.0))
    assert np.array_equal(censored_sample(values, np.zeros(8, dtype=bool)), np.sort(values))


def test_a_calibrated_estimate_gives_far_overflows_a_small_probability() -> None:
    rng = np.random.default_rng(6)
    cal = Calibration.from_horizons({24.0: rng.normal(0.0, 1.2, 200), 72.0: rng.normal(0.0, 2.0, 200)})
    e = FillEstimate(
        now_s=NOW,
        fill_now=0.2,
        fill_now_sd=0.01,
        rate_per_h=0.002,
        rate_sd_per_h=0.0003,
        process_var_per_h=1e-5,
        profile=WeekProfile.flat(),
        rate_source=RateSource.SENSOR,
        calibration=cal,
    )
    p24 = e.probability_at_least(NOW + 24 * 3600, 1.0)
    p72 = e.probability_at_least(NOW + 72 * 3600, 1.0)
    assert 0.0 < p24 < p72 < 1e-3
    lo24, hi24 = e.band(NOW + 24 * 3600)
    lo72, hi72 = e.band(NOW + 72 * 3600)
    assert hi72 - lo72 > hi24 - lo24
