"""Minimal webhook bodies of The Things Stack v3 and ChirpStack v4 for a device, measured just now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta


def _now_text(minutes_ago: float = 1.0) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def tts_uplink(
    dev_eui: str,
    distance_mm: float = 800.0,
    minutes_ago: float = 1.0,
    *,
    application: str = "waste",
    device_id: str = "bin-sensor",
) -> bytes:
    """An uplink of ``application``'s end device ``device_id`` (its topic names that device)."""
    t = _now_text(minutes_ago)
    return json.dumps(
        {
            "end_device_ids": {
                "device_id": device_id,
                "dev_eui": dev_eui.upper(),
                "application_ids": {"application_id": application},
            },
            "received_at": t,
            "uplink_message": {
                "f_port": 85,
                "f_cnt": 7,
                "decoded_payload": {"battery": 92, "distance": distance_mm},
                "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-1"}, "time": t, "rssi": -80, "snr": 5}],
                "received_at": t,
            },
        }
    ).encode()


def chirpstack_uplink(
    dev_eui: str, distance_mm: float = 1500.0, *, application_id: str | None = None
) -> bytes:
    """An uplink of the device; ``application_id`` (a UUID) names its application in ``deviceInfo``."""
    t = _now_text()
    info = {"devEui": dev_eui, "deviceName": "bin-sensor"}
    if application_id is not None:
        info["applicationId"] = application_id
    return json.dumps(
        {
            "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
            "time": t,
            "deviceInfo": info,
            "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -36, "snr": 10.5}],
            "fPort": 2,
            "fCnt": 18,
            "object": {"Bat": 2.885, "Distance": f"{distance_mm:.0f} mm"},
        }
    ).encode()
