"""Byte layouts agree with the vendors' documented examples, and decode back to what was encoded."""

from __future__ import annotations

import pytest

from sensors_sim.payloads import (
    EM310_FPORT,
    LDDS75_FPORT,
    NATIVE_FPORT,
    decode_em310,
    decode_frame,
    decode_ldds75,
    encode_em310,
    encode_ldds75,
    encode_native_frame,
)


def test_em310_matches_the_documented_example() -> None:
    # Milesight's example: battery 92 %, distance 2116 mm, position tilt
    example = bytes.fromhex("01755c03824408040001")
    frame = decode_em310(example)
    assert (frame.battery_pct, frame.distance_mm, frame.tilted) == (92, 2116, True)
    assert encode_em310(92, 2116, True) == example


def test_ldds75_matches_the_documented_layout() -> None:
    # the note's constructed example: 2.885 V, 1500 mm, no interrupt, 24.0 degC, probe present
    example = bytes.fromhex("0b4505dc0000f001")
    frame = decode_ldds75(example)
    assert frame.battery_v == pytest.approx(2.885)
    assert (frame.distance_mm, frame.interrupt, frame.temperature_c, frame.sensor_flag) == (
        1500,
        False,
        24.0,
        1,
    )
    assert encode_ldds75(2885, 1500, 24.0) == example


@pytest.mark.parametrize("temp", [-12.3, -0.1, 0.0, 7.5, 124.9])
def test_ldds75_round_trips_signed_temperatures(temp: float) -> None:
    frame = decode_ldds75(encode_ldds75(3412, 812, temp, interrupt=True))
    assert frame.temperature_c == pytest.approx(temp)
    assert frame.interrupt and frame.distance_mm == 812 and frame.battery_v == pytest.approx(3.412)


@pytest.mark.parametrize("distance", [0, 1, 255, 256, 2116, 65535])
def test_em310_round_trips_distances_little_endian(distance: int) -> None:
    assert decode_em310(encode_em310(50, distance, False)).distance_mm == distance


def test_truncated_and_unknown_frames_do_not_decode() -> None:
    full = encode_em310(80, 900, False)
    for n in range(1, 7):  # any cut inside or before the distance channel
        with pytest.raises(ValueError):
            decode_em310(full[:n])
    with pytest.raises(ValueError, match="unknown channel"):
        decode_em310(full + b"\x09\x99\x01")
    with pytest.raises(ValueError, match="8 bytes"):
        decode_ldds75(encode_ldds75(3300, 900, 10.0)[:5])


def test_encoders_refuse_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="8-bit"):
        encode_em310(300, 10, False)
    with pytest.raises(ValueError, match="16-bit"):
        encode_ldds75(3300, 70_000, 10.0)


def test_decode_frame_checks_ranges_for_every_model() -> None:
    assert decode_frame(EM310_FPORT, encode_em310(70, 640, False))["distance_mm"] == 640
    assert decode_frame(LDDS75_FPORT, encode_ldds75(3400, 640, 12.5))["temperature_c"] == 12.5
    assert decode_frame(NATIVE_FPORT, encode_native_frame({"distance_mm": 640}))["distance_mm"] == 640
    with pytest.raises(ValueError, match="distance_mm"):
        decode_frame(EM310_FPORT, encode_em310(70, 40_000, False))
    with pytest.raises(ValueError, match="battery_pct"):
        decode_frame(EM310_FPORT, encode_em310(200, 640, False))
    with pytest.raises(ValueError, match="temperature_c"):
        decode_frame(LDDS75_FPORT, encode_ldds75(3400, 640, 900.0))
    with pytest.raises(ValueError, match="fPort"):
        decode_frame(99, b"\x00")
