"""Fill forecasting: robust fill rates, emptyings, weekday profiles and sensor health (pure numpy).

:func:`forecast_fleet` is the one entry point for a city's containers (plan job, map, simulator).
"""

from wasteroute.forecasting.calibration import Calibration
from wasteroute.forecasting.emptyings import Emptying, EmptyingSource
from wasteroute.forecasting.estimators import (
    FillAnalysis,
    FillEstimate,
    RateSource,
    analyse_fill,
    analyse_fills,
    estimate_fill,
    similar_rates,
    time_to_threshold,
)
from wasteroute.forecasting.fleet import BinForecast, HorizonForecast, estimate_fleet, forecast_fleet
from wasteroute.forecasting.health import HealthFlag
from wasteroute.forecasting.params import ForecastParams
from wasteroute.forecasting.profile import WeekProfile
from wasteroute.forecasting.robust import theil_sen
from wasteroute.forecasting.series import ReadingSeries

__all__ = [
    "BinForecast",
    "Calibration",
    "Emptying",
    "EmptyingSource",
    "FillAnalysis",
    "FillEstimate",
    "ForecastParams",
    "HealthFlag",
    "HorizonForecast",
    "RateSource",
    "ReadingSeries",
    "WeekProfile",
    "analyse_fill",
    "analyse_fills",
    "estimate_fill",
    "estimate_fleet",
    "forecast_fleet",
    "similar_rates",
    "theil_sen",
    "time_to_threshold",
]
