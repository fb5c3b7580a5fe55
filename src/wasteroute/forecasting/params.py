"""Tuning of the fill estimators, checked when built."""

from __future__ import annotations

from dataclasses import dataclass

from wasteroute.forecasting.profile import zone


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _fraction(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")


@dataclass(frozen=True)
class ForecastParams:
    """Parameters of :func:`~wasteroute.forecasting.estimators.estimate_fill`.

    Fill amounts are fractions of the container (0..1), durations hours, rates fill per hour.
    The defaults suit depot and underground containers read every 1 to 6 hours.
    """

    timezone: str = "Europe/Berlin"
    """City time zone; the weekday profile follows local days."""
    history_days: float = 56.0
    """Readings older than this (before ``now``) are ignored."""

    emptying_drop: float = 0.25
    """A fall of the robust level by at least this much between consecutive readings is an emptying."""
    confirm_readings: int = 3
    """Readings on each side of a drop whose median is the robust level; a drop at the end of the
    series needs at least two readings after it (or a driver report) to count."""
    report_match_h: float = 6.0
    """A drop within this many hours of a driver report is that report's emptying."""
    single_reading_emptying: bool = True
    """Take a drop seen by one reading only (no report, no second reading yet) for an emptying when
    it looks like one: from at least ``single_reading_min_before`` to at most
    ``single_reading_max_after`` (a fall of at least twice ``emptying_drop``) during collection
    hours. Off, such a drop waits for a second reading or a report: fewer containers wrongly taken
    for empty (a lost echo), more visits to containers already emptied."""
    single_reading_min_before: float = 0.5
    single_reading_max_after: float = 0.35
    collection_hours: tuple[int, int] = (5, 20)
    """Local hours [first, last) in which trucks collect, Monday to Saturday."""
    partial_drop: float = 0.12
    """A confirmed fall between this and ``emptying_drop`` with no report is implausible (unless it
    ends near empty, see ``emptied_level``)."""
    emptied_level: float = 0.08
    """A confirmed fall of at least ``small_emptying_drop`` whose first reading after is at or below
    this is an emptying, report or not, however small: containers do not empty themselves. Rounds without
    driver reports (a city's old fixed rounds) empty many containers a quarter full or less; taken
    for falls inside one cycle, they would teach the forecast that waste stops at collection time."""
    small_emptying_drop: float = 0.08
    """Smallest fall to near empty (``emptied_level``) that is an emptying."""

    valid_min: float = -0.05
    """Readings below this are out of range (ignored for fitting)."""
    valid_max: float = 1.3
    """Readings above this are out of range (ignored for fitting)."""
    health_window_h: float = 72.0
    """Shares of out-of-range and outlying readings are judged over this recent window."""
    out_of_range_share: float = 0.2
    """More out-of-range readings than this share of the window make the sensor implausible."""
    outlier_k: float = 4.0
    """A reading further than ``outlier_k`` robust noise scales from the fitted line is an outlier."""
    outlier_share: float = 0.2
    """More outliers than this share of the window make the sensor implausible (it jumps) ..."""
    outlier_min_count: int = 5
    """... and at least this many outliers in the window (a few lost echoes are normal)."""
    max_noise_sd: float = 0.08
    """A robust residual scale above this makes the sensor implausible (too noisy to trust)."""
    noise_floor_sd: float = 0.005
    """Smallest noise scale assumed (quantised sensors can show zero residuals)."""

    stale_after_h: float = 36.0
    """No reading for longer than this makes the sensor stale."""
    stuck_after_h: float = 48.0
    """Identical readings for at least this long (while the container should fill) make it stuck."""
    stuck_min_readings: int = 6
    """At least this many identical readings are needed to call a sensor stuck."""
    stuck_tolerance: float = 1e-4
    """Readings closer than this count as identical."""
    stuck_max_level: float = 0.95
    """Constant readings at or above this level are a full container saturating the sensor, not stuck."""
    stuck_min_rise: float = 0.05
    """The container is only called stuck if the reference rate would have raised it by this much."""

    saturation_level: float = 0.95
    """Readings after the first one at or above this level are left out of rate fits: a full
    container saturates the sensor (it cannot read above full), so they would flatten the slope."""
    min_cycle_readings: int = 4
    """Readings since the last emptying needed before the cycle's own slope is used."""
    min_cycle_span_h: float = 6.0
    """Hours those readings must span before the cycle's own slope is used."""
    rate_half_life_days: float = 3.0
    """Earlier cycles' rates are weighted down with this half-life when they form the prior rate."""
    prior_rate_rel_sd: float = 0.15
    """Smallest relative spread assumed for the prior rate (cycle-to-cycle variation)."""

    weekday_profile_min_days: float = 21.0
    """History (days) needed before day-of-week multipliers are fitted; before, all days weigh 1."""
    weekday_shrink_days: float = 28.0
    """Day-of-week multipliers are shrunk toward 1 by ``days / (days + weekday_shrink_days)``."""
    hour_profile_min_days: float = 7.0
    """History (days) needed before hour-of-day multipliers (the day/night rhythm) are fitted."""
    hour_shrink_days: float = 7.0
    """Hour-of-day multipliers are shrunk toward 1 by ``days / (days + hour_shrink_days)``."""
    hour_smoothing: float = 0.3
    """Penalty on rate differences between neighbouring hours, relative to the data's weight."""
    huber_k: float = 1.5
    """Huber threshold (in robust noise scales) of the profile fit."""

    min_rate_rel_sd: float = 0.3
    """Smallest relative uncertainty of a sensor's rate in forecasts: rates drift from day to day.
    The waste a container receives from one morning to the next day's late morning varies around
    its past week's mean rate with a robust spread of 30 % (simulated city, 1,000 containers; the
    day's own noise, events and weekday effects together); with 15 % the forecast's overflow
    probabilities of 1 to 5 % came true twice as often as they said."""
    fallback_rate_rel_sd: float = 0.5
    """Relative uncertainty of a fallback rate (similar containers or the sensor's own history)."""
    default_rate_per_h: float | None = None
    """Rate used when neither the sensor nor similar containers give one; ``None`` means unknown."""
    residual_fill: float = 0.02
    """Fill right after an emptying when no reading has been seen since."""
    process_sd_per_sqrt_h: float = 0.004
    """Smallest unpredictable growth of the fill: standard deviation after one hour, growing with the
    square root of the horizon (deposits come in bags, not smoothly)."""

    def __post_init__(self) -> None:
        zone(self.timezone)
        for name in (
            "history_days",
            "emptying_drop",
            "report_match_h",
            "partial_drop",
            "emptied_level",
            "small_emptying_drop",
            "health_window_h",
            "outlier_k",
            "max_noise_sd",
            "noise_floor_sd",
            "stale_after_h",
            "stuck_after_h",
            "stuck_tolerance",
            "stuck_min_rise",
            "min_cycle_span_h",
            "saturation_level",
            "rate_half_life_days",
            "prior_rate_rel_sd",
            "weekday_profile_min_days",
            "weekday_shrink_days",
            "hour_profile_min_days",
            "hour_shrink_days",
            "hour_smoothing",
            "huber_k",
            "fallback_rate_rel_sd",
            "min_rate_rel_sd",
            "process_sd_per_sqrt_h",
        ):
            _positive(name, float(getattr(self, name)))
        for name in ("out_of_range_share", "outlier_share"):
            _fraction(name, float(getattr(self, name)))
        if self.partial_drop >= self.emptying_drop:
            raise ValueError(
                f"partial_drop ({self.partial_drop}) must be smaller than "
                f"emptying_drop ({self.emptying_drop})"
            )
        if not self.valid_min < 0 < 1 < self.valid_max:
            raise ValueError(
                "valid range must contain 0..1 (valid_min < 0 < 1 < valid_max), "
                f"got {self.valid_min}..{self.valid_max}"
            )
        for name in ("confirm_readings", "stuck_min_readings", "min_cycle_readings", "outlier_min_count"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.stuck_min_readings < 2:
            raise ValueError(f"stuck_min_readings must be at least 2, got {self.stuck_min_readings}")
        if self.default_rate_per_h is not None and not self.default_rate_per_h >= 0:
            raise ValueError(f"default_rate_per_h must be >= 0 or None, got {self.default_rate_per_h}")
        first, last = self.collection_hours
        if not 0 <= first < last <= 24:
            raise ValueError(
                "collection_hours must be local hours (first, last) with 0 <= first < last <= 24, "
                f"got {self.collection_hours}"
            )
        if not 0 < self.single_reading_max_after < self.single_reading_min_before <= 1.5:
            raise ValueError(
                "single_reading_max_after must be > 0 and below single_reading_min_before, got "
                f"{self.single_reading_max_after} and {self.single_reading_min_before}"
            )
        if not 0 <= self.residual_fill < 1:
            raise ValueError(f"residual_fill must be in [0, 1), got {self.residual_fill}")
