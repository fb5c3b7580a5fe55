"""The plan job and the dispatcher's map forecast a bin alike: one calibrated fleet forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import select

from tests.api.support import World
from tests.support import fill_reading
from wasteroute.forecasting.service import forecast_city_bins
from wasteroute.planning.service import forecast_all, load_inputs
from wasteroute.storage.models import Bin, Sensor
from wasteroute.storage.readings import store_batch


def test_the_map_and_the_plan_job_give_a_bin_the_same_calibrated_forecast(world: World) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    factory = world.app.state.session_factory
    with factory() as s:
        sensors = list(s.scalars(select(Sensor).where(Sensor.id.in_(world.a.sensor_ids[:6]))))
        first = s.get(Bin, sensors[0].bin_id)
        assert first is not None
        fraction = first.fraction
        # twelve days of hourly readings before the world's last twelve hours: filling a few % an
        # hour, emptied every four days
        rows = []
        for k, sensor in enumerate(sensors):
            rate = 0.006 + 0.001 * k
            for h in range(12 * 24, 12, -1):
                age = (h + 7 * k) % 96
                rows.append(
                    fill_reading(
                        sensor.id,
                        sensor.bin_id,
                        world.a.id,
                        now - timedelta(hours=h),
                        round(0.03 + rate * age + 0.004 * ((h * 7 + k) % 5 - 2), 4),
                    )
                )
        raw = s.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        store_batch(raw, rows, [])
        s.commit()

    with factory() as s:
        inputs = load_inputs(s, world.a.id, fraction, now.date(), now)
        planned = forecast_all(inputs, now)
        shown = forecast_city_bins(s, world.a.id, list(planned), now)
    assert set(shown) == set(planned)
    for bin_id, estimate in planned.items():
        assert shown[bin_id].estimate == estimate
    # the forecast is calibrated on the city's own replayed errors, the same for both
    calibrations = {e.calibration for e in planned.values()}
    assert any(c.n > 0 for c in calibrations)
