"""What ``deploy/`` ships: the broker's access control on a live mosquitto, and static checks of the
compose file, the service units and the broker configuration."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from tests.ingest.mqtt_probe import ProbeClient
from wasteroute.cli import build_parser
from wasteroute.runtime.broker import PROJECT_ROOT, BrokerHandle, start_mosquitto

DEPLOY = PROJECT_ROOT / "deploy"
PASSWORDS = {
    "wasteroute-ingest": "ingest-secret",
    "wasteroute-sim": "sim-secret",
    "gw-luebeck-1": "gateway-secret",
    "chirpstack": "chirpstack-secret",
}


def probe(broker: BrokerHandle, user: str | None, password: str | None = None) -> ProbeClient:
    """A probe client logging in as ``user`` (with its password from ``PASSWORDS`` by default)."""
    return ProbeClient(broker, user, password if password is not None or user is None else PASSWORDS[user])


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    handle = start_mosquitto(tmp_path / "mqtt", passwords=PASSWORDS)
    yield handle
    handle.stop()


@pytest.mark.services  # a live mosquitto
def test_a_gateway_publishes_only_its_own_city_and_cannot_subscribe(acl_broker: BrokerHandle) -> None:
    ingest = probe(acl_broker, "wasteroute-ingest")
    gateway = probe(acl_broker, "gw-luebeck-1")
    try:
        assert not ingest.connack.is_failure and not gateway.connack.is_failure
        assert all(not r.is_failure for r in ingest.subscribe("wasteroute/+/sensors/+/up"))
        own = "wasteroute/luebeck/sensors/a84041000181c5e2/up"
        other = "wasteroute/rostock/sensors/a84041000181c5e2/up"
        assert not gateway.publish(own).is_failure
        refused = gateway.publish(other)
        assert refused is not None and refused.is_failure, "another city's topic must be refused"
        # a gateway reads nothing. mosquitto's acl_file grants the SUBSCRIBE itself (it filters each
        # delivery by read access; eclipse-mosquitto/mosquitto#744), so check what actually arrives.
        gateway.subscribe("#")
        gateway.subscribe("wasteroute/luebeck/sensors/+/up")
        sim = probe(acl_broker, "wasteroute-sim")
        try:
            sim.publish("wasteroute/rostock/sensors/b/up")
            sim.publish("application/1/device/0101010101010101/event/up")
        finally:
            sim.close()
        gateway.publish(own)
        time.sleep(0.5)
        assert gateway.received == [], "a gateway must not read other gateways' readings"
        assert ingest.received == [own, "wasteroute/rostock/sensors/b/up", own]
    finally:
        ingest.close()
        gateway.close()


@pytest.mark.services  # a live mosquitto
def test_the_ingestor_reads_uplinks_only_and_cannot_publish(acl_broker: BrokerHandle) -> None:
    ingest = probe(acl_broker, "wasteroute-ingest")
    watcher = probe(acl_broker, "wasteroute-ingest")
    try:
        assert all(not r.is_failure for r in ingest.subscribe("$share/g/wasteroute/+/sensors/+/up"))
        assert all(not r.is_failure for r in watcher.subscribe("wasteroute/+/sensors/+/up"))
        refused = ingest.publish("wasteroute/luebeck/sensors/x/up")
        assert refused is not None and refused.is_failure
        time.sleep(0.3)
        assert watcher.received == []
    finally:
        ingest.close()
        watcher.close()


@pytest.mark.services  # a live mosquitto
def test_anonymous_and_wrong_passwords_are_refused(acl_broker: BrokerHandle) -> None:
    for user, password in ((None, None), ("gw-luebeck-1", "wrong"), ("nobody", "x")):
        c = probe(acl_broker, user, password)
        try:
            assert c.connack is None or c.connack.is_failure, user
        finally:
            c.close()


# --------------------------------------------------------------------------------------------------
# static checks


def _subcommands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps sub-parsers here; no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("the CLI has no sub-commands")


def test_compose_file_defines_the_services_with_real_commands_volumes_and_files() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services: dict[str, Any] = doc["services"]
    assert set(services) >= {"db", "mqtt", "migrate", "ingest", "api", "worker"}
    assert "timescale" in services["db"]["image"]
    commands = _subcommands()
    for name in ("migrate", "ingest", "api", "worker"):
        command = services[name]["command"]
        assert command[0] == "wasteroute" and command[1] in commands, (name, command)
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        env = services[name]["environment"]
        assert (
            env["WASTEROUTE_DATABASE_URL"].startswith("postgresql://")
            and "@db:5432/" in env["WASTEROUTE_DATABASE_URL"]
        )
    declared = set(doc["volumes"])
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, (name, dep)
        for mount in svc.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, source)
            else:
                assert source in declared, (name, source)
    ingest = services["ingest"]
    assert ingest["environment"]["WASTEROUTE_MQTT_CLIENT_ID"], "a stable client id keeps the broker session"
    assert ingest["environment"]["WASTEROUTE_MQTT_URL"].endswith("@mqtt:1883")
    assert int(ingest["stop_grace_period"].rstrip("s")) >= 30, "time to flush the batch in flight"
    mounts = " ".join(services["mqtt"]["volumes"])
    assert "./mosquitto.conf:" in mounts and "./wasteroute.acl:/etc/mosquitto/wasteroute.acl" in mounts
    entry = (DEPLOY / "mosquitto-entrypoint.sh").read_text()
    conf = (DEPLOY / "mosquitto.conf").read_text()
    # the entrypoint's rewrite must hit the shipped listener line and write the configured password file
    assert re.search(r"^listener 1883 127\.0\.0\.1$", conf, re.M)
    password_file = re.search(r"^password_file (\S+)$", conf, re.M)
    assert password_file and f"passwd={password_file.group(1)}" in entry
    assert (DEPLOY / "Dockerfile").is_file()


def test_service_units_start_real_subcommands_and_give_ingest_time_to_flush() -> None:
    commands = _subcommands()
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} == {
        "wasteroute-ingest.service",
        "wasteroute-api.service",
        "wasteroute-worker.service",
    }
    for unit in units:
        text = unit.read_text()
        exec_start = re.search(r"^ExecStart=(\S+) (\S+)", text, re.M)
        assert exec_start and exec_start.group(1).endswith("/wasteroute") and exec_start.group(2) in commands
        assert "EnvironmentFile=" in text and "Restart=always" in text
    ingest = (DEPLOY / "systemd" / "wasteroute-ingest.service").read_text()
    assert "KillSignal=SIGTERM" in ingest
    stop = re.search(r"^TimeoutStopSec=(\d+)$", ingest, re.M)
    assert stop and int(stop.group(1)) >= 30


def test_broker_configuration_fixes_the_defaults_that_drop_data() -> None:
    conf = dict(
        line.split(" ", 1)
        for line in (DEPLOY / "mosquitto.conf").read_text().splitlines()
        if line and line[0] != "#"
    )
    assert int(conf["max_queued_messages"]) >= 100_000, "default 1000 per client silently drops the rest"
    assert conf["persistence"] == "true" and int(conf["autosave_interval"]) <= 60
    assert conf["allow_anonymous"] == "false"
    assert conf["queue_qos0_messages"] == "false"
    assert "acl_file" in conf and "password_file" in conf
