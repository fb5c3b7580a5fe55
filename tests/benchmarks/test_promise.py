"""Every run beside the fixed rounds of its seed: km change, fill at emptying, service level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.promise import main


def _run(root: Path, per_seed: dict[int, list[dict[str, Any]]]) -> Path:
    for seed, results in per_seed.items():
        (root / f"seed-{seed}").mkdir(parents=True)
        (root / f"seed-{seed}" / "results.json").write_text(json.dumps(results))
    return root


def _r(policy: str, km: float, fill: float = 0.5, service: float = 0.999) -> dict[str, Any]:
    return {"policy": policy, "km": km, "fill_at_emptying_mean": fill, "service_level": service, "tours": 10}


def test_each_run_is_measured_against_the_fixed_rounds_of_its_own_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = _run(
        tmp_path / "same",
        {
            1: [_r("fixed", 1000.0), _r("dynamic", 800.0, 0.5)],
            2: [_r("fixed", 2000.0), _r("dynamic", 1400.0, 0.6)],
        },
    )
    # seed 3 has no fixed rounds to compare with and is left out
    other = _run(tmp_path / "other", {1: [_r("dynamic", 500.0, 0.8)], 3: [_r("dynamic", 1.0)]})
    out = tmp_path / "promise.png"
    argv = ["--fixed", str(same), f"dynamic={same}", f"fixed rounds={same}:fixed", f"dream={other}"]
    assert main([*argv, "--ceiling", "0.78", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(x) for x in lines[:-1]]
    assert [(r["label"], r["seed"], r["km_vs_fixed"]) for r in rows] == [
        ("dynamic", 1, -0.2),
        ("dynamic", 2, -0.3),
        ("fixed rounds", 1, 0.0),
        ("fixed rounds", 2, 0.0),
        ("dream", 1, -0.5),
    ]
    medians = {m["label"]: m for m in json.loads(lines[-1])}
    assert medians["dynamic"]["km_vs_fixed"] == pytest.approx(-0.25)
    assert medians["dynamic"]["fill_at_emptying_mean"] == pytest.approx(0.55)
    assert medians["dream"]["seeds"] == [1]
    assert out.stat().st_size > 0


def test_a_run_without_the_policy_or_results_is_an_error_that_says_so(tmp_path: Path) -> None:
    same = _run(tmp_path / "same", {1: [_r("fixed", 1000.0)]})
    with pytest.raises(SystemExit, match=r"no 'dynamic' policy in .*seed-1/results\.json"):
        main(["--fixed", str(same), f"dynamic={same}"])
    with pytest.raises(SystemExit, match=r"no seed-N/results\.json in"):
        main(["--fixed", str(tmp_path / "nothing"), f"dynamic={same}"])
    with pytest.raises(SystemExit):
        main(["--fixed", str(same), "no label here"])


def test_safer_fixed_rounds_give_the_saving_against_fixed_rounds_as_safe_as_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fixed rounds at their usual rhythms keep 99.7 % of container-days free; asked for more, 99.9 and 99.95
    fixed = _run(
        tmp_path / "fixed", {1: [_r("fixed", 1000.0, service=0.997)], 2: [_r("fixed", 1000.0, service=0.997)]}
    )
    safer = _run(
        tmp_path / "safer", {1: [_r("fixed", 1100.0, service=0.999)], 2: [_r("fixed", 1100.0, service=0.999)]}
    )
    safest = _run(tmp_path / "safest", {1: [_r("fixed", 1200.0, service=0.9995)]})
    runs = _run(
        tmp_path / "runs",
        {
            1: [_r("dynamic", 840.0, service=0.998), _r("threshold", 900.0, service=0.98)],
            2: [_r("dynamic", 880.0, service=0.9999), _r("threshold", 900.0, service=0.999)],
        },
    )
    argv = ["--fixed", str(fixed), "--fixed-safer", str(safer), "--fixed-safer", str(safest)]
    argv += [f"dynamic={runs}", f"threshold={runs}:threshold", "--out", str(tmp_path / "p.png")]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = {(r["label"], r["seed"]): r for r in map(json.loads, lines[:-1])}
    # halfway between 99.7 % (1000 km) and 99.9 % (1100 km): fixed rounds as safe drive 1050 km
    assert rows["dynamic", 1]["km_vs_fixed"] == pytest.approx(-0.16)
    assert rows["dynamic", 1]["km_vs_fixed_as_safe"] == pytest.approx(-0.2)
    assert rows["dynamic", 1]["fixed_as_safe_at_least"] is False
    # safer than seed 2's safest fixed rounds (99.9 %, 1100 km): a bound against them
    assert rows["dynamic", 2]["km_vs_fixed_as_safe"] == pytest.approx(-0.2)
    assert rows["dynamic", 2]["fixed_as_safe_at_least"] is True
    # exactly as safe as a fixed run: its km, no bound
    assert rows["threshold", 2]["km_vs_fixed_as_safe"] == pytest.approx(900 / 1100 - 1, abs=1e-4)
    assert rows["threshold", 2]["fixed_as_safe_at_least"] is False
    # less safe than any fixed rounds: nothing to compare with, in the row and in the median
    assert rows["threshold", 1]["km_vs_fixed_as_safe"] is None
    medians = {m["label"]: m for m in json.loads(lines[-1])}
    assert medians["dynamic"]["km_vs_fixed_as_safe"] == pytest.approx(-0.2)
    assert medians["threshold"]["km_vs_fixed_as_safe"] is None
