"""The distances of a plan job: OSRM when configured (cached per city), great-circle otherwise.

With ``WASTEROUTE_OSRM_URL`` set, a plan asks the OSRM table service for its matrix once per set of
points and keeps it in the database (``distance_matrix``), so the next plan of the same bins,
depots and facilities, on any worker, reads it back. When OSRM does not answer, the plan is still
made with great-circle distance x the detour factor, and says so: ``source`` is ``great_circle``
and ``warnings`` holds the reason, both stored in the plan's summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from wasteroute.config import Settings
from wasteroute.planning.distances import GreatCircleProvider, IntMatrix, Point, point_set_key, reorder
from wasteroute.planning.osrm import OsrmClient, OsrmError
from wasteroute.storage.db import transaction
from wasteroute.storage.matrices import MatrixCache

log = logging.getLogger(__name__)


@dataclass
class PlanDistances:
    """A ``DistanceProvider`` for one plan job; after ``matrices`` it says where they came from."""

    settings: Settings
    factory: sessionmaker[Session] | None
    city_id: int
    source: str = "great_circle"
    """``osrm`` (fetched now), ``osrm_cached`` (read back) or ``great_circle``."""
    warnings: list[str] = field(default_factory=list)

    def matrices(self, points: Sequence[Point]) -> tuple[IntMatrix, IntMatrix]:
        fallback = GreatCircleProvider(detour_factor=self.settings.road_detour_factor)
        url = self.settings.osrm_url
        if not url:
            self.source = "great_circle"
            return fallback.matrices(points)
        key, order = point_set_key(points, f"osrm {url} {self.settings.osrm_profile}")
        if self.factory is not None:
            with transaction(self.factory) as session:
                cached = MatrixCache(session).get(self.city_id, key)
            if cached is not None:
                self.source = "osrm_cached"
                return reorder(cached[0], order), reorder(cached[1], order)
        canonical = [points[int(i)] for i in order]
        try:
            distance, duration = OsrmClient(
                url, profile=self.settings.osrm_profile, timeout_s=self.settings.osrm_timeout_s, retries=1
            ).matrices(canonical)
        except OsrmError as exc:
            message = (
                f"road distances unavailable ({exc.osrm_code}: {exc.message}); this plan uses "
                f"great-circle distance x {self.settings.road_detour_factor:g}"
            )
            log.warning("city %s: %s", self.city_id, message)
            self.source = "great_circle"
            self.warnings.append(message)
            return fallback.matrices(points)
        if self.factory is not None:
            with transaction(self.factory) as session:
                MatrixCache(session).put(self.city_id, key, distance, duration)
        self.source = "osrm"
        return reorder(distance, order), reorder(duration, order)
