"""``wasteroute integration …`` and ``wasteroute broker-acl``: the integration registry from the shell.

They parse, open the database and delegate; the rules live in :mod:`wasteroute.admin.integrations`
(the same validation as the admin API).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from wasteroute.admin.integrations import (
    IntegrationCreate,
    IntegrationRead,
    register,
    render_acl,
)
from wasteroute.config import Settings
from wasteroute.errors import Conflict
from wasteroute.storage.admin import CityObjects
from wasteroute.storage.integrations import KINDS, Integration, IntegrationRepository

Command = Callable[[argparse.Namespace, Settings], int]


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from wasteroute.runtime.services import start_services
    from wasteroute.storage.db import make_engine, make_session_factory, transaction

    services = start_services(settings, need_broker=False)
    engine = make_engine(services.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
        services.stop()


def _city_id(session: Session, slug: str) -> int | None:
    from wasteroute.storage.cities import CityRepository

    city = CityRepository(session).by_slug(slug)
    return city.id if city is not None else None


def _print(row: Integration) -> None:
    print(IntegrationRead.model_validate(row).model_dump_json())


def cmd_integration(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as session:
        city_id = _city_id(session, args.city) if args.city is not None else None
        if args.city is not None and city_id is None:
            print(f"no city {args.city!r}", file=sys.stderr)
            return 2
        if args.action == "list":
            for info in IntegrationRepository(session).all(city_id):
                print(json.dumps({"city": info.city_slug, **_as_dict(info)}))
            return 0
        if city_id is None:
            print("--city is required", file=sys.stderr)
            return 2
        objects = CityObjects(session)
        if args.action == "add":
            try:
                body = IntegrationCreate(
                    kind=args.kind,
                    application_id=args.application or "",
                    tenant_id=args.tenant or "",
                    broker_user=args.broker_user,
                    name=args.name or "",
                )
            except ValidationError as exc:
                for e in exc.errors():
                    print(
                        f"{'.'.join(str(x) for x in e['loc']) or 'integration'}: {e['msg']}", file=sys.stderr
                    )
                return 2
            try:
                row = register(session, city_id, args.city, body)
            except Conflict as exc:
                print(f"not registered: {exc.message}", file=sys.stderr)
                return 1
            _print(row)
            return 0
        found = objects.get(Integration, args.id, city_id) if args.id is not None else None
        if found is None:
            print(f"no integration {args.id} in {args.city}", file=sys.stderr)
            return 2
        if args.action == "remove":
            objects.delete(found)
            print(json.dumps({"removed": args.id}))
            return 0
        objects.update(found, {"enabled": args.action == "enable"})
        _print(found)
        return 0


def _as_dict(info: Any) -> dict[str, Any]:
    return {
        "id": info.integration_id,
        "kind": info.kind,
        "application_id": info.application_id,
        "tenant_id": info.tenant_id,
        "topic_prefix": info.topic_prefix,
        "broker_user": info.broker_user,
        "enabled": info.enabled,
    }


def cmd_broker_acl(args: argparse.Namespace, settings: Settings) -> int:
    with _session(settings) as session:
        text = render_acl(IntegrationRepository(session).all(), simulator=args.simulator)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}; send mosquitto SIGHUP to reload it", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def add_commands(sub: Any) -> None:
    """Add ``integration`` and ``broker-acl`` to the CLI's sub-command parser ``sub``."""
    sp = sub.add_parser(
        "integration",
        help="register, list, enable, disable or remove a city's network-server integrations",
        description="The Things Stack / ChirpStack applications and native gateways of a city.",
    )
    sp.set_defaults(fn=cmd_integration)
    sp.add_argument("action", choices=["add", "list", "enable", "disable", "remove"])
    sp.add_argument("--city", help="the city's slug (required except for list)")
    sp.add_argument("--kind", choices=list(KINDS), help="add: tts, chirpstack or native")
    sp.add_argument("--application", help="add: application id (ChirpStack: UUID; native: gateway id)")
    sp.add_argument("--tenant", help="add: The Things Stack tenant, e.g. ttn")
    sp.add_argument("--broker-user", help="add: MQTT user (default {kind}-{city}-{application})")
    sp.add_argument("--name")
    sp.add_argument("--id", type=int, help="enable/disable/remove: the integration's id")
    sp = sub.add_parser(
        "broker-acl",
        help="write the mosquitto acl file generated from the integration registry",
        description="The ingestor reads all uplinks; each integration's broker user writes only its topics.",
    )
    sp.set_defaults(fn=cmd_broker_acl)
    sp.add_argument("--output", help="file to write (default: standard output)")
    sp.add_argument("--simulator", action="store_true", help="add the simulator's user (demos, load tests)")
