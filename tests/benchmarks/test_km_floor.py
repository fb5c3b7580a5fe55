"""The split of simulated km into depot-facility round trips and the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.km_floor import main, split


def test_every_tour_counts_its_trucks_round_trip_and_the_rest_is_the_citys() -> None:
    result = {
        "km": 100.0,
        "by_truck": {"A": {"tours": 3}, "B": {"tours": 2}, "C": {"tours": 5}},  # C: no facility known
    }
    assert split(result, {"A": 10.0, "B": 20.0}) == {"km": 100.0, "floor": 70.0, "city": 30.0}


def test_the_command_reads_seed_results_and_names_perfect_forecast_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truck = {"tours": 2, "km": 50.0, "fraction": "paper", "access_class": "crane"}
    for name, text in (("real", "# Policy simulation"), ("known", "**Perfect foresight (a what-if")):
        seed = tmp_path / name / "seed-1"
        seed.mkdir(parents=True)
        (seed / "report.md").write_text(text)
        rows = [{"policy": "dynamic", "km": 400.0, "by_truck": {"HL-WR-104": truck}}]
        (seed / "results.json").write_text(json.dumps(rows))
    out = tmp_path / "floor.png"
    assert main([str(tmp_path / "real"), str(tmp_path / "known"), "--bins", "60", "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["policy"] for r in rows] == ["dynamic", "dynamic (perfect forecast)"]
    # HL-WR-104 is the paper crane truck at the Kücknitz depot, 34 km there and back to Niemark
    assert rows[0]["floor"] == pytest.approx(2 * 34.16, abs=0.1)
    assert rows[0]["city"] == pytest.approx(400.0 - rows[0]["floor"])
    assert out.stat().st_size > 0
    with pytest.raises(SystemExit, match=r"no seed-N/results\.json"):
        main([str(tmp_path / "nothing")])
