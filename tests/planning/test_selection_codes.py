"""Every selection decision carries a stable code and its numbers beside the English reason, so the
pages can say it in the dispatcher's language."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.planning.test_selection import NEXT, VISIT, decide, estimate
from wasteroute.forecasting import HealthFlag, RateSource
from wasteroute.planning.selection import (
    PolicyOptions,
    SelectionInput,
    SelectionParams,
    SelectionStatus,
    select_dynamic,
    select_for_policy,
)

PREFIX = {SelectionStatus.MUST_GO: "must_", SelectionStatus.MAY_GO: "may_", SelectionStatus.SKIP: "skip_"}
AFTER = NEXT + timedelta(days=1)


def test_each_rule_of_the_look_ahead_free_selection_has_its_code_and_numbers() -> None:
    must = decide(estimate(0.8))
    assert must.code == "must_threshold"
    assert must.params["fill_pct"] == 80.0 and must.params["threshold_pct"] == 80.0
    assert must.params["next_day"] == "2026-11-24"  # NEXT in Berlin
    assert datetime.fromisoformat(must.params["visit_at"]) == VISIT

    near = decide(estimate(0.7999))
    assert near.code == "may_near_threshold" and near.params["margin_pct"] == 10.0

    overflow = decide(estimate(0.6 - 0.42 * 5 / 24, 0.42))
    assert overflow.code == "must_overflow_next" and overflow.params["next_fill_pct"] > 100

    risky = decide(estimate(0.55, 0.2, sd=0.2))
    assert risky.code == "may_overflow_risk" and risky.params["overflow_pct"] >= 5.0

    skip = decide(estimate(0.3))
    assert skip.code == "skip_not_due" and skip.params["fill_pct"] == 30.0

    unknown = decide(estimate(0.5, sd=0.3, flags=frozenset({HealthFlag.NO_DATA}), source=RateSource.NONE))
    assert unknown.code == "may_unknown"


def test_a_flagged_sensor_is_named_in_the_params() -> None:
    est = estimate(0.5, 0.1, flags=frozenset({HealthFlag.STALE}), source=RateSource.SIMILAR)
    sel = decide(est)
    assert sel.params["sensor"] == {"flags": ["stale"], "rate_source": "similar"}
    assert "sensor" not in decide(estimate(0.5, 0.1)).params


@pytest.mark.parametrize("fill", [0.05, 0.3, 0.6, 0.78, 0.85, 0.99, 1.1])
def test_the_code_agrees_with_the_status_under_every_policy(fill: float) -> None:
    items = [SelectionInput("b1", "luebeck", "paper", estimate(fill, 0.2, sd=0.05))]
    params = SelectionParams()
    kw = {"visit_at": VISIT, "next_visit_at": NEXT, "after_next_visit_at": AFTER, "params": params}
    for policy in (
        PolicyOptions("dynamic"),
        PolicyOptions("threshold"),
        PolicyOptions("fixed", frozenset({"b1"})),
    ):
        (sel,) = select_for_policy(items, policy=policy, **kw)  # type: ignore[arg-type]
        assert sel.code.startswith(PREFIX[sel.status]), (policy.policy, sel.code, sel.status)
        assert sel.reason  # the English sentence stays for API users and logs


def test_the_look_ahead_selection_names_its_days_as_dates() -> None:
    items = [
        SelectionInput("full", "luebeck", "paper", estimate(0.95, 0.3)),
        SelectionInput("empty", "luebeck", "paper", estimate(0.05, 0.01)),
    ]
    full, empty = select_dynamic(
        items, visit_at=VISIT, next_visit_at=NEXT, after_next_visit_at=AFTER, params=SelectionParams()
    )
    assert full.status is SelectionStatus.MUST_GO and full.code.startswith("must_")
    assert full.params["next_day"] == "2026-11-24"
    assert empty.status is SelectionStatus.SKIP and empty.code.startswith("skip_")
    assert empty.params["after_day"] == "2026-11-25"
    for sel in (full, empty):
        for key, value in sel.params.items():
            if key.endswith("_pct"):
                assert isinstance(value, float) and 0 <= value <= 1000, (key, value)


def test_fixed_rounds_say_whether_the_container_is_due() -> None:
    items = [SelectionInput(b, "luebeck", "paper", estimate(0.5)) for b in ("due", "not")]
    due, not_due = select_for_policy(
        items,
        visit_at=VISIT,
        next_visit_at=NEXT,
        after_next_visit_at=AFTER,
        params=SelectionParams(),
        policy=PolicyOptions("fixed", frozenset({"due"})),
    )
    assert (due.code, not_due.code) == ("must_fixed_round", "skip_fixed_round")


def test_codes_are_the_same_for_the_same_input() -> None:
    items = [SelectionInput(f"b{i}", "luebeck", "paper", estimate(0.1 * i, 0.1)) for i in range(10)]
    kw = {"visit_at": VISIT, "next_visit_at": NEXT, "after_next_visit_at": AFTER, "params": SelectionParams()}
    a = select_dynamic(items, **kw)  # type: ignore[arg-type]
    b = select_dynamic(items, **kw)  # type: ignore[arg-type]
    assert [(s.code, dict(s.params)) for s in a] == [(s.code, dict(s.params)) for s in b]


def test_every_reason_code_has_a_text_in_both_languages_of_the_pages() -> None:
    import re
    from pathlib import Path

    from wasteroute.vocabulary import SelectionReason

    catalogue = (Path(__file__).parents[2] / "src/wasteroute/web/static/shared/i18n.js").read_text()
    for code in SelectionReason:
        texts = re.findall(rf'"why\.{code.value}": "([^"]+)"', catalogue)
        assert len(texts) == 2, f"why.{code.value}: expected a German and an English text, found {texts}"
        placeholders = [set(re.findall(r"\{(\w+)\}", t)) for t in texts]
        assert placeholders[0] == placeholders[1], f"why.{code.value}: the languages use other numbers"


def test_between_collection_days_only_a_real_emergency_sends_a_truck() -> None:
    """A collection day leaves containers below ``risk`` until the next round; between rounds a
    container goes only when its overflow probability by the next day reaches ``emergency_risk``."""
    est = estimate(0.5, 0.3, sd=0.06)
    item = SelectionInput("b1", "luebeck", "paper", est)
    p = est.probability_at_least(NEXT + timedelta(hours=PolicyOptions().late_visit_h), 1.0)
    assert 0.01 < p < 0.5, p
    kw = {"visit_at": VISIT, "next_visit_at": NEXT, "after_next_visit_at": AFTER, "params": SelectionParams()}

    def one(it: SelectionInput = item, **options: object) -> object:
        (sel,) = select_dynamic([it], policy=PolicyOptions(**options), **kw)  # type: ignore[arg-type]
        return sel

    wednesday, monday = frozenset({2}), frozenset({0})  # VISIT is a Monday
    calm = one(collection_days=wednesday, emergency_risk=min(0.99, 2 * p))
    assert calm.status is SelectionStatus.SKIP and calm.code == "skip_no_round_today"
    urgent = one(collection_days=wednesday, emergency_risk=p / 2)
    assert urgent.status is SelectionStatus.MUST_GO and urgent.code == "must_overflow_risk"
    assert urgent.params["risk_pct"] == round(100 * p / 2, 1)
    assert one(collection_days=wednesday).status is SelectionStatus.MUST_GO  # above the default 5 %
    near = estimate(0.45, 0.3, sd=0.06)  # above risk (0.5 %), below the default emergency (5 %)
    q = near.probability_at_least(NEXT + timedelta(hours=PolicyOptions().late_visit_h), 1.0)
    assert 0.005 < q < 0.05, q
    near_item = SelectionInput("b2", "luebeck", "paper", near)
    assert one(near_item, collection_days=wednesday).code == "skip_no_round_today"
    assert one(near_item, collection_days=wednesday, emergency_risk=q / 2).code == "must_overflow_risk"
    # a risk above 5 % is the floor of the default emergency: p (about 9 %) waits under risk 20 %
    assert one(collection_days=wednesday, risk=0.2).code == "skip_no_round_today"
    on_round = one(collection_days=monday, emergency_risk=min(0.99, 2 * p))
    assert on_round.status is SelectionStatus.MUST_GO and on_round.params["risk_pct"] == 0.5
    with pytest.raises(ValueError, match="emergency_risk"):
        PolicyOptions(emergency_risk=1.0)
    assert PolicyOptions.from_options({"emergency_risk": 0.02}).emergency_risk == 0.02


def test_a_plans_summary_names_the_risk_that_sends_a_truck_between_rounds() -> None:
    from wasteroute.planning.service import policy_summary

    rounds = {"collection_days": ["mon", "thu"], "emergency_risk": 0.05}
    assert policy_summary(rounds, "paper", 0.8) == {
        "policy": "dynamic",
        "threshold": 0.8,
        "risk": 0.005,
        "collection_days": ["mon", "thu"],
        "emergency_risk": 0.05,
    }
    # the default limit is named too (5 %, or the risk when that is higher); without rounds, none
    assert policy_summary({"collection_days": ["mon"]}, "paper", 0.8)["emergency_risk"] == 0.05
    assert policy_summary({"collection_days": ["mon"], "risk": 0.1}, "paper", 0.8)["emergency_risk"] == 0.1
    assert "emergency_risk" not in policy_summary({"emergency_risk": 0.02}, "paper", 0.8)
