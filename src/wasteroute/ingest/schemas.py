"""Public message schemas of ingest.

These are the shapes a gateway, a network server or the simulator sends, and the one canonical
reading every adapter turns them into. The simulator (``sensors_sim``) may import this module;
nothing else of the service.

Native topic scheme (our own gateways)::

    wasteroute/{city}/sensors/{device_id}/up

``city`` is the city's slug (``luebeck``), ``device_id`` the sensor's DevEUI in lower-case hex
(16 hex digits) or another stable device id registered for the sensor. The payload is one JSON
object, :class:`NativeReading`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

NATIVE_TOPIC_PREFIX = "wasteroute"
NATIVE_TOPIC_FILTER = "wasteroute/+/sensors/+/up"
TTS_TOPIC_FILTER = "v3/+/devices/+/up"
CHIRPSTACK_TOPIC_FILTER = "application/+/device/+/event/up"

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

Source = Literal["native", "tts", "chirpstack", "webhook-tts", "webhook-chirpstack"]


def native_topic(city: str, device_id: str) -> str:
    """The topic a native reading of ``device_id`` in ``city`` is published on."""
    return f"{NATIVE_TOPIC_PREFIX}/{city}/sensors/{device_id}/up"


class NativeReading(BaseModel):
    """One measurement in our native JSON format.

    A sensor reports either ``distance_mm`` (what ultrasonic and radar sensors measure, from the
    sensor to the waste surface) or ``fill_level`` (0..1, when the device computes it), or both.
    Times are ISO 8601 with a zone; naive times are refused. The constraints are declarative (no
    Python validators per field: this model parses every native reading); ingest lower-cases the
    device id and converts the time to UTC.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    device_id: str = Field(
        pattern=DEVICE_ID_RE.pattern,
        description="DevEUI (hex; stored in lower case) or a registered id: 1-64 letters, digits, '_.:-'",
    )
    measured_at: AwareDatetime = Field(description="measurement time, ISO 8601 with zone")
    distance_mm: float | None = Field(default=None, ge=0, le=10_000, description="sensor to surface, mm")
    fill_level: float | None = Field(default=None, ge=0, le=1.5, description="0..1; above 1 overfilled")
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    battery_v: float | None = Field(default=None, ge=0, le=10)
    temperature_c: float | None = Field(default=None, ge=-50, le=200)
    tilt_deg: float | None = Field(default=None, ge=0, le=180, description="tilt from upright, degrees")
    rssi_dbm: float | None = Field(default=None, ge=-200, le=20)
    snr_db: float | None = Field(default=None, ge=-50, le=50)
    seq: int | None = Field(default=None, ge=0, description="device frame counter, diagnostics only")

    @model_validator(mode="after")
    def _has_level(self) -> NativeReading:
        if self.distance_mm is None and self.fill_level is None:
            raise ValueError("a reading needs distance_mm or fill_level")
        return self


@dataclass(slots=True)
class CanonicalReading:
    """What every adapter produces: one reading of one device, before it is tied to a bin.

    Read-only by convention (``dataclasses.replace`` makes changed copies). Not ``frozen``: one is
    built per reading on ingest's hot path, and a frozen dataclass costs about 1.5 µs more to build.

    ``fill_level`` is filled in by ingest from the container geometry when the device only
    reports a distance. The payload exactly as received travels beside it (the stored row's ``raw``).
    """

    device_id: str
    measured_at: datetime
    source: str
    distance_mm: float | None = None
    fill_level: float | None = None
    battery_pct: float | None = None
    battery_v: float | None = None
    temperature_c: float | None = None
    tilt_deg: float | None = None
    tilted: bool | None = None
    rssi_dbm: float | None = None
    snr_db: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
