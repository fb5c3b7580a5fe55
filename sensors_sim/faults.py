"""Fault rates of the simulated sensors and the ``--faults`` syntax.

Rates are fractions 0..1. All but ``battery`` are per scheduled report:

- ``dropout``: the report is lost (no message).
- ``duplicate``: a well-formed message is delivered twice (the copy is marked ``duplicate``).
- ``stuck``: the report repeats the distance of an earlier one (episodes of ``STUCK_MEAN_REPORTS``).
- ``garbage``: the message is replaced by an invalid payload (invalid JSON, truncated, binary,
  wrong types, out-of-range values, or a short LoRaWAN frame).
- ``skew``: the timestamp lies in the future (a device or gateway clock gone wrong).
- ``fire``: a temperature spike (episodes of ``FIRE_MEAN_REPORTS``); only models with a
  temperature probe (``ldds75``, ``native``) can show it, so the rate counts their reports.
- ``tilt``: the container lies on its side: tilt flag / angle set and a nonsense distance (episodes
  of ``TILT_MEAN_REPORTS``); only models with an accelerometer (``em310-udl``, ``native``).

``battery`` is per sensor: the share of sensors whose battery drains to death during the run
(their last reports carry falling battery values, then they fall silent).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

STUCK_MEAN_REPORTS = 12.0
FIRE_MEAN_REPORTS = 3.0
TILT_MEAN_REPORTS = 6.0

GARBAGE_KINDS = ("invalid_json", "truncated", "binary", "wrong_types", "out_of_range", "short_frame")
"""Kinds of garbage payloads (``short_frame`` only for raw-byte LoRaWAN frames)."""


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Fault rates; see the module docstring for what each one counts. All default to 0."""

    dropout: float = 0.0
    duplicate: float = 0.0
    stuck: float = 0.0
    battery: float = 0.0
    garbage: float = 0.0
    skew: float = 0.0
    fire: float = 0.0
    tilt: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise ValueError(f"fault rate {f.name} must be a number in 0..1, got {v!r}")
        per_report = self.dropout + self.garbage + self.skew
        if per_report > 1.0:
            raise ValueError(f"dropout + garbage + skew must be <= 1, got {per_report}")

    def as_dict(self) -> dict[str, float]:
        """Rates by kind."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @staticmethod
    def episode_onset(rate: float, mean_reports: float) -> float:
        """Onset probability per healthy report that makes a fraction ``rate`` of reports faulty when
        episodes last ``mean_reports`` on average."""
        if rate <= 0.0:
            return 0.0
        if rate >= 1.0:
            return 1.0
        return rate / (mean_reports * (1.0 - rate) + rate)


DEFAULT_FAULTS = FaultRates(
    dropout=0.02, duplicate=0.01, stuck=0.005, battery=0.01, garbage=0.01, skew=0.005, fire=0.001, tilt=0.002
)
"""What ``--faults default`` means."""

NO_FAULTS = FaultRates()


def parse_faults(text: str) -> FaultRates:
    """Parse ``none``, ``default`` or ``kind=rate,kind=rate`` (unnamed kinds are 0).

    >>> parse_faults("dropout=0.02,garbage=0.01").garbage
    0.01
    """
    text = text.strip()
    if text in ("", "none"):
        return NO_FAULTS
    if text == "default":
        return DEFAULT_FAULTS
    known = {f.name for f in fields(FaultRates)}
    values: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ValueError(f"fault spec {part!r}: expected kind=rate with kind one of {sorted(known)}")
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f"fault spec {part!r}: rate must be a number in 0..1") from None
    return FaultRates(**values)
