"""Every message the simulator emits is accepted by the service's ingest adapters, in every format,
and every garbage or clock-skewed one is refused or yields no reading (so ingest dead-letters it)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sensors_sim.city import generate_city
from sensors_sim.engine import simulate
from wasteroute.ingest.adapters import parse_uplink
from wasteroute.ingest.rejects import Rejected


@pytest.mark.parametrize("fmt", ["native", "tts", "chirpstack", "mixed"])
def test_simulated_messages_parse_or_are_refused_for_their_fault(fmt: str) -> None:
    city = generate_city("wismar", 60, seed=3)
    models = {
        f["properties"]["sensor"]["device_id"]: f["properties"]["sensor"]["model"]
        for f in city["bins"]["features"]
    }
    start = datetime(2026, 11, 1, tzinfo=UTC)
    faults = "dropout=0.02,duplicate=0.02,stuck=0.01,garbage=0.05,skew=0.02,fire=0.005,tilt=0.005"
    outcome: Counter[str] = Counter()
    for m in simulate(city, 3, 11, fmt, faults, start):
        now = m.at + timedelta(seconds=30)
        try:
            readings = parse_uplink(m.topic, m.payload, received_at=now, now=now, model_hint=models.get)
        except Rejected as r:
            assert m.fault in ("garbage", "skew"), f"{m.fault} message refused: {r} ({m.topic})"
            outcome[f"refused-{m.fault}"] += 1
            continue
        if not readings:  # a well-formed frame without a level: the resolver dead-letters it
            assert m.fault == "garbage", f"{m.fault} message gave no reading: {m.topic}"
            outcome["refused-garbage"] += 1
            continue
        assert m.fault not in ("garbage", "skew"), f"{m.fault} message ({m.detail}) was accepted: {m.topic}"
        assert len(readings) == 1
        r0 = readings[0]
        assert r0.device_id == m.device_id
        assert r0.distance_mm is not None or r0.fill_level is not None
        outcome["accepted"] += 1
    assert outcome["accepted"] > 1000
    assert outcome["refused-garbage"] > 10
    assert outcome["refused-skew"] > 0
