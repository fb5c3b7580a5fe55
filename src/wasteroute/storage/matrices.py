"""Road matrices fetched from a routing server, cached per city and set of points."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session


class MatrixCache:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, city_id: int, key: str) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
        row = self.session.execute(
            text(
                "SELECT points, distance_m, duration_s FROM distance_matrix WHERE city_id = :c AND key = :k"
            ),
            {"c": city_id, "k": key},
        ).first()
        if row is None:
            return None
        n = int(row[0])
        distance = np.frombuffer(bytes(row[1]), dtype="<i8")
        duration = np.frombuffer(bytes(row[2]), dtype="<i8")
        if distance.size != n * n or duration.size != n * n:
            return None  # a damaged entry is refetched and overwritten
        return distance.reshape(n, n).astype(np.int64), duration.reshape(n, n).astype(np.int64)

    def put(
        self, city_id: int, key: str, distance_m: NDArray[np.int64], duration_s: NDArray[np.int64]
    ) -> None:
        n = int(distance_m.shape[0])
        self.session.execute(
            text(
                "INSERT INTO distance_matrix (city_id, key, points, distance_m, duration_s) "
                "VALUES (:c, :k, :n, :d, :t) ON CONFLICT (city_id, key) DO UPDATE SET "
                "points = EXCLUDED.points, distance_m = EXCLUDED.distance_m, "
                "duration_s = EXCLUDED.duration_s, created_at = now()"
            ),
            {
                "c": city_id,
                "k": key,
                "n": n,
                "d": distance_m.astype("<i8").tobytes(),
                "t": duration_s.astype("<i8").tobytes(),
            },
        )
