"""Fill forecasting: robust fill rates, emptyings, weekday profiles and sensor health (pure numpy)."""

from wasteroute.forecasting.estimators import (
    Emptying,
    EmptyingSource,
    FillEstimate,
    HealthFlag,
    RateSource,
    estimate_fill,
    estimate_fleet,
    similar_rates,
    theil_sen,
    time_to_threshold,
)
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import WeekProfile
from wasteroute.forecasting.series import ReadingSeries

__all__ = [
    "Emptying",
    "EmptyingSource",
    "FillEstimate",
    "ForecastParams",
    "HealthFlag",
    "RateSource",
    "ReadingSeries",
    "WeekProfile",
    "estimate_fill",
    "estimate_fleet",
    "similar_rates",
    "theil_sen",
    "time_to_threshold",
]
