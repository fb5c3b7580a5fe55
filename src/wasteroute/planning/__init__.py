"""Planning: which containers to empty today and in which order.

The pure routing core lives here: :mod:`.problem` (input), :mod:`.result` (output) and
:mod:`.solver` (``plan_routes``, the only module that imports OR-Tools). Import ``plan_routes``
from :mod:`wasteroute.planning.solver` so that importing the data types stays light.
"""

from wasteroute.planning.problem import (
    DEFAULT_ACCESS_CLASS,
    BreakKind,
    BreakRule,
    Depot,
    Facility,
    InvalidProblem,
    Location,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)
from wasteroute.planning.result import DroppedStop, DropReason, Route, RoutePlan, Visit, VisitKind

__all__ = [
    "DEFAULT_ACCESS_CLASS",
    "BreakKind",
    "BreakRule",
    "Depot",
    "DropReason",
    "DroppedStop",
    "Facility",
    "InvalidProblem",
    "Location",
    "Problem",
    "Route",
    "RoutePlan",
    "Stop",
    "TimeWindow",
    "Vehicle",
    "Visit",
    "VisitKind",
]
