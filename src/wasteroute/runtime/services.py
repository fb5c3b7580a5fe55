"""The database and broker a command runs against: the configured ones, or embedded ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from wasteroute.config import Settings
from wasteroute.runtime.broker import BrokerHandle, start_local_broker
from wasteroute.runtime.postgres import EmbeddedPostgres
from wasteroute.storage.db import migrate

log = logging.getLogger(__name__)


@dataclass
class Services:
    database_url: str
    mqtt_url: str | None
    sim_mqtt_url: str | None
    mqtt_protocol: str = "5"
    _pg: EmbeddedPostgres | None = field(default=None, repr=False)
    _broker: BrokerHandle | None = field(default=None, repr=False)

    @property
    def embedded_database(self) -> bool:
        return self._pg is not None

    @property
    def embedded_broker(self) -> bool:
        return self._broker is not None

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()
        if self._pg is not None:
            self._pg.stop()


def start_services(settings: Settings, *, need_broker: bool = True, migrate_db: bool = True) -> Services:
    """Use ``WASTEROUTE_DATABASE_URL`` / ``WASTEROUTE_MQTT_URL`` when set; otherwise start embedded ones
    under ``settings.data_dir``. Migrates the database to head."""
    pg = None
    if settings.database_url:
        url = settings.database_url
    else:
        pg = EmbeddedPostgres(settings.data_dir / "postgres")
        pg.start()
        url = pg.create_database("wasteroute")
        log.info("embedded PostgreSQL running (data in %s)", settings.data_dir / "postgres")
    if migrate_db:
        migrate(url)
    broker = None
    mqtt_url = sim_url = settings.mqtt_url
    protocol = "5"
    if need_broker and not settings.mqtt_url:
        broker = start_local_broker(settings.data_dir / "mqtt")
        mqtt_url = broker.url("wasteroute-ingest")
        sim_url = broker.url("wasteroute-sim")
        protocol = broker.protocol
    return Services(url, mqtt_url, sim_url, protocol, pg, broker)
