"""Byte decoders and encoders of the EM310-UDL and LDDS75, against the vendors' documented examples."""

from __future__ import annotations

import random

import pytest

from wasteroute.ingest.decoders import (
    EM310_UDL,
    LDDS75,
    SENSOR_MODELS,
    DecodeError,
    decode_em310udl,
    decode_ldds75,
    encode_em310udl,
    encode_ldds75,
    find_model,
    model_for_fport,
)

EM310_EXAMPLE = bytes.fromhex("01755C03824408040001")
LDDS75_EXAMPLE = bytes.fromhex("0B4505DC0000F001")


def test_em310udl_documented_example_decodes_to_battery_distance_and_tilt() -> None:
    frame = decode_em310udl(EM310_EXAMPLE)
    assert frame.battery_pct == 92
    assert frame.distance_mm == 2116
    assert frame.tilted is True
    assert frame.device_info == {}


def test_em310udl_encoder_reproduces_the_documented_example() -> None:
    assert encode_em310udl(battery_pct=92, distance_mm=2116, tilted=True) == EM310_EXAMPLE


def test_em310udl_distance_is_little_endian() -> None:
    assert decode_em310udl(bytes.fromhex("03820100")).distance_mm == 1
    assert decode_em310udl(bytes.fromhex("03820001")).distance_mm == 256


def test_em310udl_position_normal_is_not_tilted() -> None:
    assert decode_em310udl(bytes.fromhex("040000")).tilted is False


def test_em310udl_items_may_come_in_any_order() -> None:
    frame = decode_em310udl(bytes.fromhex("040001" + "03824408" + "01755C"))
    assert (frame.battery_pct, frame.distance_mm, frame.tilted) == (92, 2116, True)


def test_em310udl_device_information_items_are_read() -> None:
    data = bytes.fromhex(
        "FF0BFF" + "FF0101" + "FF166136C19146090000" + "FF0F00" + "FF090140" + "FF0A0114" + "FFFE01"
    )
    frame = decode_em310udl(data)
    assert frame.battery_pct is None and frame.distance_mm is None
    assert frame.device_info == {
        "power_on": True,
        "protocol_version": "01",
        "serial_number": "6136c19146090000",
        "lorawan_class": "A",
        "hardware_version": "0140",
        "firmware_version": "0114",
        "reset": True,
    }


@pytest.mark.parametrize(
    ("hex_frame", "message"),
    [
        ("", "empty"),
        ("01755C0567FF00", "unknown"),  # 05 67 is not an EM310-UDL item
        ("FF2000", "unknown"),  # unknown device-information type
        ("038244", "needs 2"),  # distance cut after one byte
        ("0175", "needs 1"),  # battery without its value
        ("01", "inside an item header"),
        ("040002", "position must be 0"),
        ("01755C01755D", "twice"),
    ],
)
def test_em310udl_malformed_frames_raise_decode_error(hex_frame: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_em310udl(bytes.fromhex(hex_frame))


def test_em310udl_round_trips_random_values() -> None:
    rng = random.Random(310)
    for _ in range(500):
        battery = rng.choice([None, rng.randint(0, 100)])
        distance = rng.choice([None, rng.randint(0, 0xFFFF)])
        tilted = rng.choice([None, True, False])
        frame = decode_em310udl(
            encode_em310udl(battery_pct=battery, distance_mm=distance, tilted=tilted, power_on=True)
        )
        assert (frame.battery_pct, frame.distance_mm, frame.tilted) == (battery, distance, tilted)
        assert frame.device_info == {"power_on": True}


@pytest.mark.parametrize(
    "kwargs",
    [{"battery_pct": 256}, {"battery_pct": -1}, {"distance_mm": 70_000}, {"serial_number": "12"}],
)
def test_em310udl_encoder_refuses_values_the_layout_cannot_hold(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        encode_em310udl(**kwargs)  # type: ignore[arg-type]


def test_ldds75_documented_example_decodes() -> None:
    frame = decode_ldds75(LDDS75_EXAMPLE)
    assert frame.battery_mv == 2885
    assert frame.battery_v == pytest.approx(2.885)
    assert frame.distance_mm == 1500
    assert frame.interrupt_flag == 0
    assert frame.temperature_c == pytest.approx(24.0)
    assert frame.sensor_flag == 1


def test_ldds75_encoder_reproduces_the_documented_example() -> None:
    assert encode_ldds75(battery_mv=2885, distance_mm=1500, temperature_c=24.0) == LDDS75_EXAMPLE


def test_ldds75_battery_ignores_the_top_two_bits() -> None:
    frame = decode_ldds75(bytes.fromhex("CB45" + "05DC00" + "00F0" + "01"))
    assert frame.battery_mv == 2885


def test_ldds75_temperature_is_signed_tenths() -> None:
    # 0xFF3F is -193 tenths, -19.3 °C
    assert decode_ldds75(bytes.fromhex("0B4505DC00FF3F01")).temperature_c == pytest.approx(-19.3)


@pytest.mark.parametrize("length", [0, 7, 9, 11])
def test_ldds75_refuses_frames_that_are_not_8_bytes(length: int) -> None:
    with pytest.raises(DecodeError, match="expected exactly 8"):
        decode_ldds75(bytes(length))


def test_ldds75_round_trips_random_values() -> None:
    rng = random.Random(75)
    for _ in range(500):
        values = {
            "battery_mv": rng.randint(0, 0x3FFF),
            "distance_mm": rng.randint(0, 0xFFFF),
            "interrupt_flag": rng.randint(0, 1),
            "temperature_c": rng.randint(-400, 850) / 10,
            "sensor_flag": rng.randint(0, 1),
        }
        frame = decode_ldds75(encode_ldds75(**values))  # type: ignore[arg-type]
        assert frame.battery_mv == values["battery_mv"]
        assert frame.distance_mm == values["distance_mm"]
        assert frame.interrupt_flag == values["interrupt_flag"]
        assert frame.temperature_c == pytest.approx(values["temperature_c"])
        assert frame.sensor_flag == values["sensor_flag"]


def test_ldds75_encoder_refuses_out_of_range_values() -> None:
    with pytest.raises(ValueError, match="battery_mv"):
        encode_ldds75(battery_mv=0x4000, distance_mm=1)
    with pytest.raises(ValueError, match="temperature_c"):
        encode_ldds75(battery_mv=3000, distance_mm=1, temperature_c=4000.0)


def test_ldds75_measurement_reports_a_missing_probe_as_a_fault() -> None:
    measurement = SENSOR_MODELS[LDDS75].decode(encode_ldds75(battery_mv=3000, distance_mm=0, sensor_flag=0))
    assert measurement.sensor_fault is not None
    assert measurement.distance_mm is None
    assert not measurement.has_level


def test_em310udl_measurement_of_an_info_frame_has_no_level() -> None:
    measurement = SENSOR_MODELS[EM310_UDL].decode(encode_em310udl(power_on=True))
    assert not measurement.has_level
    assert measurement.extra == {"device_info": {"power_on": True}}


def test_models_are_found_by_name_alias_and_fport() -> None:
    assert find_model("Milesight EM310-UDL") is SENSOR_MODELS[EM310_UDL]
    assert find_model("em310udl") is SENSOR_MODELS[EM310_UDL]
    assert find_model("LDDS75") is SENSOR_MODELS[LDDS75]
    assert find_model("acme-9000") is None
    assert model_for_fport(85) is SENSOR_MODELS[EM310_UDL]
    assert model_for_fport(2) is SENSOR_MODELS[LDDS75]
    assert model_for_fport(1) is None
