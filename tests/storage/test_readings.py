"""The batch write path on a real PostgreSQL: idempotent, latest state per bin, alerts, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session

from tests.support import DATA, fill_reading
from wasteroute.admin.schemas import CitySeedDocument
from wasteroute.admin.service import import_city_seed
from wasteroute.storage.readings import BatchStore, DeadLetterRow, ReadingRow, load_sensor_directory


@pytest.fixture
def mini_city_url(backend_mini_city_url: str) -> str:
    """The batch write path runs on both backends: plain PostgreSQL and TimescaleDB."""
    return backend_mini_city_url


def _row(sensor_id: int, bin_id: int, city_id: int, at: datetime, fill: float, **kw: Any) -> ReadingRow:
    fields: dict[str, Any] = {"temperature_c": 20.0, "tilt_deg": 0.0, "rssi_dbm": -100.0, "raw": b"{}", **kw}
    return fill_reading(sensor_id, bin_id, city_id, at, fill, **fields)


def test_import_is_idempotent(session: Session) -> None:
    doc = CitySeedDocument.model_validate(json.loads((DATA / "city-mini.json").read_text()))
    first = import_city_seed(session, doc)
    second = import_city_seed(session, doc)
    assert first.city_id == second.city_id
    assert (first.bins, first.sensors, first.vehicles) == (24, 24, 2)
    from wasteroute.storage.cities import CityRepository

    assert CityRepository(session).count_bins(first.city_id) == 24


def test_batches_are_idempotent_and_keep_the_latest_state(mini_city_url: str) -> None:
    store = BatchStore(mini_city_url)
    sensors = store.sensors()
    info = sensors["70b3d57ed0000001"]
    assert info.bin_id is not None and info.height_mm == 1150
    t0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
    rows = [
        _row(info.sensor_id, info.bin_id, info.city_id, t0 + timedelta(hours=h), 0.1 * h) for h in range(5)
    ]
    first = store.write_and_commit(rows, [])
    again = store.write_and_commit([*rows[2:], rows[0]], [])  # a redelivery
    older = store.write_and_commit(
        [_row(info.sensor_id, info.bin_id, info.city_id, t0 - timedelta(days=1), 0.9)], []
    )
    assert (first.stored, first.duplicates) == (5, 0)
    assert (again.stored, again.duplicates) == (0, 4)
    assert older.stored == 1
    with psycopg.connect(mini_city_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        n = conn.execute(
            "SELECT count(*) FROM sensor_reading WHERE sensor_id = %s", (info.sensor_id,)
        ).fetchone()
        state = conn.execute(
            "SELECT measured_at, fill_level FROM bin_state WHERE bin_id = %s", (info.bin_id,)
        ).fetchone()
    assert n == (6,)
    assert state is not None and state[0] == t0 + timedelta(hours=4) and state[1] == pytest.approx(0.4)
    store.close()


def test_fire_and_tilt_raise_one_open_alert_each(mini_city_url: str) -> None:
    store = BatchStore(mini_city_url)
    info = store.sensors()["70b3d57ed0000002"]
    assert info.bin_id is not None
    t0 = datetime(2026, 11, 21, 9, tzinfo=UTC)
    hot = [
        _row(
            info.sensor_id,
            info.bin_id,
            info.city_id,
            t0 + timedelta(minutes=m),
            0.5,
            temperature_c=80.0,
            tilt_deg=60.0,
        )
        for m in range(3)
    ]
    store.write_and_commit(hot[:2], [])
    store.write_and_commit(hot[2:], [])
    with psycopg.connect(mini_city_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        kinds = conn.execute(
            "SELECT kind, detail, params FROM alert WHERE bin_id = %s AND cleared_at IS NULL ORDER BY kind",
            (info.bin_id,),
        ).fetchall()
    # what raised each one, as numbers beside the English detail (the pages say it in their language)
    assert kinds == [
        ("fire", "temperature 80.0 °C", {"temperature_c": 80.0}),
        ("tilt", "tilted 60°", {"tilt_deg": 60}),
    ]
    store.close()


def test_dead_letters_keep_raw_bytes_and_reason(mini_city_url: str) -> None:
    store = BatchStore(mini_city_url)
    raw = b"\xff\x00not json"
    out = store.write_and_commit(
        [], [DeadLetterRow("mqtt", "wasteroute/x/sensors/y/up", raw, "invalid_json", "bad")]
    )
    assert out.dead_lettered == 1
    with psycopg.connect(mini_city_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT payload, reason, topic FROM dead_letter").fetchone()
    assert row == (raw, "invalid_json", "wasteroute/x/sensors/y/up")
    store.close()


def test_sensor_directory_knows_city_and_geometry(mini_city_url: str) -> None:
    with psycopg.connect(mini_city_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        directory = load_sensor_directory(conn)
    assert len(directory) == 24
    assert {i.city_slug for i in directory.values()} == {"testhafen"}
    assert directory["70b3d57ed0000000"].height_mm == 1800  # an underground container


def test_forecast_history_holds_one_fractions_active_bins_readings_and_emptyings(mini_city_url: str) -> None:
    from wasteroute.storage.db import make_engine, make_session_factory, transaction
    from wasteroute.storage.history import bin_histories

    store = BatchStore(mini_city_url)
    sensors = store.sensors()
    paper, residual, retired = (sensors[f"70b3d57ed000000{k}"] for k in (0, 1, 3))
    assert paper.bin_id and residual.bin_id and retired.bin_id
    t0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
    rows = [
        _row(s.sensor_id, s.bin_id, s.city_id, t0 + timedelta(hours=h), 0.1 * h)
        for s in (paper, residual, retired)
        for h in range(-2, 4)  # two readings before ``since``
    ]
    rows.append(_row(residual.sensor_id, residual.bin_id, residual.city_id, t0 + timedelta(hours=9), None))
    assert store.write_and_commit(rows, []).stored == len(rows)
    store.close()
    url = mini_city_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        fractions = dict(
            conn.execute(
                "SELECT id, fraction FROM bin WHERE id = ANY(%s)",
                ([paper.bin_id, residual.bin_id, retired.bin_id],),
            ).fetchall()
        )
        conn.execute("UPDATE bin SET active = false WHERE id = %s", (retired.bin_id,))
        for bin_id, hours, kind, withdrawn in (
            (residual.bin_id, 1.5, "emptied", False),
            (residual.bin_id, 2.5, "not_reachable", False),
            (residual.bin_id, 3.5, "emptied", True),
            (residual.bin_id, -5, "emptied", False),
            (paper.bin_id, 2.0, "detected_drop", False),
        ):
            conn.execute(
                "INSERT INTO collection_event (city_id, bin_id, kind, occurred_at, withdrawn_at) "
                "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)",
                (residual.city_id, bin_id, kind, t0 + timedelta(hours=hours), withdrawn),
            )
    assert fractions[residual.bin_id] == fractions[retired.bin_id] != fractions[paper.bin_id]
    engine = make_engine(mini_city_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            got = bin_histories(session, residual.city_id, fractions[residual.bin_id], t0)
    finally:
        engine.dispose()
    assert set(got) == {residual.bin_id}  # not the paper bin, not the retired one
    h = got[residual.bin_id]
    assert h.times_s == [(t0 + timedelta(hours=k)).timestamp() for k in range(4)]
    assert h.fills == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert h.emptied_at_s == [(t0 + timedelta(hours=1.5)).timestamp()]
