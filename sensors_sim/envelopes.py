"""Wire formats: native JSON, The Things Stack v3 uplinks, ChirpStack v4 uplinks, and garbage.

Every builder returns ``(topic, payload bytes)``. JSON is compact and keys keep insertion order,
so equal inputs give byte-identical payloads. Field names and shapes follow the network servers'
documented uplink JSON: proto3-style omission of zero values (no ``f_cnt`` / ``fCnt`` when the
frame counter is 0), ``frequency`` as a string in The Things Stack, nanosecond timestamps.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sensors_sim.payloads import EM310_FPORT, LDDS75_FPORT, NATIVE_FPORT, encode_native_frame
from wasteroute.ingest.schemas import native_topic

FORMATS = ("native", "tts", "chirpstack")
CHANNELS_HZ = (868_100_000, 868_300_000, 868_500_000, 867_100_000, 867_300_000, 867_500_000, 867_700_000)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def iso_ms(t: datetime) -> str:
    """``2026-01-05T10:00:03.123Z``: UTC, milliseconds."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def iso_ns(t: datetime, extra_ns: int, zulu: bool = True) -> str:
    """RFC 3339 with nine fractional digits; ``extra_ns`` (0..999) fills the digits past microseconds."""
    base = t.astimezone(UTC).isoformat(timespec="microseconds")[:26]
    return f"{base}{extra_ns:03d}{'Z' if zulu else '+00:00'}"


@dataclass(frozen=True, slots=True)
class Gateway:
    """A LoRaWAN gateway of the city."""

    gateway_id: str
    eui: str


@dataclass(frozen=True, slots=True)
class LoraDevice:
    """Network-server facts of one device (constant over a run).

    Attributes:
        dev_eui: DevEUI, 16 lower-case hex digits (the device id of the city seed).
        model: sensor model, decides fPort and frame layout.
        dev_addr: session device address, 8 hex digits.
        gateways: gateways that hear it, best first.
        rssi_dbm: typical RSSI at its best gateway, dBm.
        spreading_factor: LoRa spreading factor 7..12.
    """

    dev_eui: str
    model: str
    dev_addr: str
    session_key_id: str
    gateways: tuple[Gateway, ...]
    rssi_dbm: float
    spreading_factor: int


@dataclass(frozen=True, slots=True)
class NetworkIds:
    """Per-city ids of the network servers: TTS application and tenant, ChirpStack ids."""

    tts_app: str
    tts_tenant: str
    cs_tenant_id: str
    cs_application_id: str
    cs_application_name: str
    cs_profile_ids: dict[str, str]

    @staticmethod
    def for_city(slug: str, tts_app: str | None = None, tts_tenant: str = "ttn") -> NetworkIds:
        """Stable ids derived from the city slug (UUIDv5, no randomness)."""
        ns = uuid.uuid5(uuid.NAMESPACE_URL, f"https://wasteroute.example/{slug}")
        return NetworkIds(
            tts_app=tts_app or f"{slug}-bins",
            tts_tenant=tts_tenant,
            cs_tenant_id=str(uuid.uuid5(ns, "tenant")),
            cs_application_id=str(uuid.uuid5(ns, "application")),
            cs_application_name=f"{slug} bins",
            cs_profile_ids={
                m: str(uuid.uuid5(ns, f"profile/{m}")) for m in ("em310-udl", "ldds75", "native")
            },
        )


def tts_device_id(dev_eui: str) -> str:
    """The Things Stack end-device id the simulator registers (``eui-`` + DevEUI)."""
    return f"eui-{dev_eui}"


def tts_topic(ids: NetworkIds, dev_eui: str) -> str:
    """``v3/{app}@{tenant}/devices/{device id}/up``."""
    return f"v3/{ids.tts_app}@{ids.tts_tenant}/devices/{tts_device_id(dev_eui)}/up"


def chirpstack_topic(ids: NetworkIds, dev_eui: str) -> str:
    """``application/{application uuid}/device/{devEui}/event/up``."""
    return f"application/{ids.cs_application_id}/device/{dev_eui}/event/up"


def f_port_of(model: str) -> int:
    """The LoRaWAN port a model sends readings on."""
    return {"em310-udl": EM310_FPORT, "ldds75": LDDS75_FPORT}.get(model, NATIVE_FPORT)


def native_message(city: str, fields: dict[str, Any]) -> tuple[str, bytes]:
    """A native reading: ``fields`` hold ``device_id``, ``measured_at`` and the measurement."""
    return native_topic(city, fields["device_id"]), dumps(fields)


@dataclass(frozen=True, slots=True)
class Radio:
    """One uplink's radio facts: times, per-gateway RSSI/SNR, channel, airtime."""

    ns_time: datetime
    as_time: datetime
    gw_time: datetime
    ns_extra_ns: int
    rssi: tuple[int, ...]
    snr: tuple[float, ...]
    channel: int
    airtime_s: float
    tmst: int


def make_radio(rng: random.Random, dev: LoraDevice, measured_at: datetime, ns_time: datetime) -> Radio:
    """Draw the radio facts of one uplink heard by the device's gateways."""
    n = rng.randint(1, len(dev.gateways))
    rssi = tuple(round(dev.rssi_dbm - 6 * i + rng.gauss(0, 3)) for i in range(n))
    snr = tuple(round(max(-20.0, min(12.0, (r + 120) / 4 + rng.gauss(0, 1.5))), 1) for r in rssi)
    airtime = {7: 0.061696, 8: 0.113152, 9: 0.205824, 10: 0.370688, 11: 0.823296, 12: 1.482752}[
        dev.spreading_factor
    ]
    return Radio(
        ns_time=ns_time,
        as_time=ns_time + timedelta(microseconds=rng.randint(2_000, 40_000)),
        gw_time=measured_at + timedelta(seconds=airtime),
        ns_extra_ns=rng.randrange(1000),
        rssi=rssi,
        snr=snr,
        channel=rng.randrange(len(CHANNELS_HZ)),
        airtime_s=airtime,
        tmst=rng.getrandbits(32),
    )


def tts_uplink(
    ids: NetworkIds,
    dev: LoraDevice,
    f_cnt: int,
    frame: bytes | None,
    decoded: dict[str, Any] | None,
    radio: Radio,
    rng: random.Random,
) -> dict[str, Any]:
    """The Things Stack v3 uplink message as a dict (``frame`` None: no ``frm_payload`` key)."""
    ns = iso_ns(radio.ns_time, radio.ns_extra_ns)
    gw_time = iso_ns(radio.gw_time, 0)
    up: dict[str, Any] = {"session_key_id": dev.session_key_id, "f_port": f_port_of(dev.model)}
    if f_cnt:
        up["f_cnt"] = f_cnt
    if frame is not None:
        up["frm_payload"] = base64.b64encode(frame).decode()
    if decoded is not None:
        up["decoded_payload"] = decoded
    up["rx_metadata"] = [
        {
            "gateway_ids": {"gateway_id": gw.gateway_id, "eui": gw.eui.upper()},
            "time": gw_time,
            "timestamp": (radio.tmst + 17 * i) % 2**32,
            "rssi": radio.rssi[i],
            "channel_rssi": radio.rssi[i],
            "snr": radio.snr[i],
            "uplink_token": base64.b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode(),
            "channel_index": radio.channel,
            "received_at": ns,
        }
        for i, gw in enumerate(dev.gateways[: len(radio.rssi)])
    ]
    up["settings"] = {
        "data_rate": {
            "lora": {"bandwidth": 125000, "spreading_factor": dev.spreading_factor, "coding_rate": "4/5"}
        },
        "frequency": str(CHANNELS_HZ[radio.channel]),
        "timestamp": radio.tmst,
        "time": gw_time,
    }
    up["received_at"] = ns
    up["consumed_airtime"] = f"{radio.airtime_s:.6f}s"
    up["network_ids"] = {"net_id": "000013", "tenant_id": ids.tts_tenant, "cluster_id": "eu1"}
    corr = f"{rng.getrandbits(104):026X}"
    return {
        "end_device_ids": {
            "device_id": tts_device_id(dev.dev_eui),
            "application_ids": {"application_id": ids.tts_app},
            "dev_eui": dev.dev_eui.upper(),
            "join_eui": "0000000000000000",
            "dev_addr": dev.dev_addr.upper(),
        },
        "correlation_ids": [f"as:up:{corr}", f"ns:uplink:{corr[::-1]}"],
        "received_at": iso_ns(radio.as_time, radio.ns_extra_ns),
        "uplink_message": up,
    }


def chirpstack_uplink(
    ids: NetworkIds,
    dev: LoraDevice,
    f_cnt: int,
    frame: bytes | None,
    decoded: dict[str, Any] | None,
    radio: Radio,
    rng: random.Random,
    tags: dict[str, str],
) -> dict[str, Any]:
    """ChirpStack v4 ``up`` event as a dict (``frame`` None: no ``data`` key)."""
    ns = iso_ns(radio.ns_time, radio.ns_extra_ns, zulu=False)
    gw_time = iso_ns(radio.gw_time, 0, zulu=False)
    ev: dict[str, Any] = {
        "deduplicationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "time": ns,
        "deviceInfo": {
            "tenantId": ids.cs_tenant_id,
            "tenantName": "wasteroute",
            "applicationId": ids.cs_application_id,
            "applicationName": ids.cs_application_name,
            "deviceProfileId": ids.cs_profile_ids[dev.model],
            "deviceProfileName": dev.model,
            "deviceName": tags.get("bin", dev.dev_eui),
            "devEui": dev.dev_eui,
            "tags": tags,
        },
        "devAddr": dev.dev_addr,
        "adr": True,
        "dr": 12 - dev.spreading_factor,
        "fPort": f_port_of(dev.model),
    }
    if f_cnt:
        ev["fCnt"] = f_cnt
    if frame is not None:
        ev["data"] = base64.b64encode(frame).decode()
    if decoded is not None:
        ev["object"] = decoded
    ev["rxInfo"] = [
        {
            "gatewayId": gw.eui,
            "uplinkId": rng.getrandbits(32),
            "gwTime": gw_time,
            "nsTime": ns,
            "rssi": radio.rssi[i],
            "snr": radio.snr[i],
            "channel": radio.channel,
            "context": base64.b64encode(rng.getrandbits(32).to_bytes(4, "big")).decode(),
            "metadata": {"region_config_id": "eu868", "region_common_name": "EU868"},
            "crcStatus": "CRC_OK",
        }
        for i, gw in enumerate(dev.gateways[: len(radio.rssi)])
    ]
    ev["txInfo"] = {
        "frequency": CHANNELS_HZ[radio.channel],
        "modulation": {
            "lora": {"bandwidth": 125000, "spreadingFactor": dev.spreading_factor, "codeRate": "CR_4_5"}
        },
    }
    return ev


def native_frame(fields: dict[str, Any]) -> bytes:
    """The fPort-1 frame a native-model device sends through a LoRaWAN network."""
    return encode_native_frame(fields)
