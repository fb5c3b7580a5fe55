"""Network-server integrations of a city: the table, the rows ingest needs, and the registry listing
the broker ACL is generated from.

An integration is one The Things Stack application (``application_id`` + ``tenant_id``), one
ChirpStack application (its UUID; ``tenant_id`` informative) or one native gateway of a city
(``application_id`` names the gateway). ``broker_user`` is the MQTT user it publishes as.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Boolean, ForeignKey, Integer, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from wasteroute.storage.models import TZ, Base, City
from wasteroute.storage.readings import StorageUnavailable
from wasteroute.vocabulary import IntegrationKind

KINDS = tuple(IntegrationKind)


class Integration(Base):
    __tablename__ = "integration"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    kind: Mapped[str] = mapped_column(Text)
    application_id: Mapped[str] = mapped_column(Text)
    tenant_id: Mapped[str] = mapped_column(Text, default="")
    topic_prefix: Mapped[str] = mapped_column(Text)
    broker_user: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default="now()")


@dataclass(frozen=True, slots=True)
class IntegrationInfo:
    """What ingest and the broker ACL need of one integration. ``tenant_id`` is ``""`` when none."""

    integration_id: int
    city_id: int
    city_slug: str
    kind: str
    application_id: str
    tenant_id: str
    topic_prefix: str
    broker_user: str
    enabled: bool

    @property
    def label(self) -> str:
        """``tts luebeck-bins@ttn``, ``chirpstack <uuid>``, ``native gw-1``: for messages."""
        tenant = f"@{self.tenant_id}" if self.tenant_id and self.kind == IntegrationKind.TTS else ""
        return f"{self.kind} {self.application_id}{tenant}"


_SQL = (
    "SELECT i.id, i.city_id, c.slug, i.kind, i.application_id, i.tenant_id, i.topic_prefix, "
    "i.broker_user, i.enabled "
    "FROM integration i JOIN city c ON c.id = i.city_id ORDER BY i.id"
)


def _info(row: Any) -> IntegrationInfo:
    iid, city_id, slug, kind, app, tenant, prefix, user, enabled = row
    return IntegrationInfo(
        int(iid),
        int(city_id),
        str(slug),
        str(kind),
        str(app),
        str(tenant),
        str(prefix),
        str(user),
        bool(enabled),
    )


def load_integrations(conn: psycopg.Connection[Any]) -> list[IntegrationInfo]:
    """Every registered integration (enabled or not), oldest first."""
    with conn.cursor() as cur:
        cur.execute(_SQL)
        return [_info(r) for r in cur.fetchall()]


class IntegrationRepository:
    """The registry through the ORM session (admin API, CLI)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self, city_id: int | None = None) -> list[IntegrationInfo]:
        q = (
            select(
                Integration.id,
                Integration.city_id,
                City.slug,
                Integration.kind,
                Integration.application_id,
                Integration.tenant_id,
                Integration.topic_prefix,
                Integration.broker_user,
                Integration.enabled,
            )
            .join(City, City.id == Integration.city_id)
            .order_by(Integration.id)
        )
        if city_id is not None:
            q = q.where(Integration.city_id == city_id)
        return [_info(r) for r in self.session.execute(q).all()]

    def application_taken(self, kind: str, application_id: str, tenant_id: str) -> bool:
        """Whether this application is registered (by any city; a ChirpStack UUID under any tenant)."""
        q = select(Integration.id).where(
            Integration.kind == kind, Integration.application_id == application_id
        )
        if kind != IntegrationKind.CHIRPSTACK:
            q = q.where(Integration.tenant_id == tenant_id)
        return self.session.execute(q.limit(1)).first() is not None

    def broker_user_taken(self, broker_user: str, *, exclude_id: int | None = None) -> bool:
        """Whether an integration (other than ``exclude_id``) publishes as ``broker_user``."""
        q = select(Integration.id).where(Integration.broker_user == broker_user)
        if exclude_id is not None:
            q = q.where(Integration.id != exclude_id)
        return self.session.execute(q.limit(1)).first() is not None


def fetch_integrations(url: str) -> list[IntegrationInfo]:
    """:func:`load_integrations` over a short connection of its own (ingest's writer connection stays
    free for batches). Raises ``StorageUnavailable`` when the database cannot be reached."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=5) as conn:
            return load_integrations(conn)
    except psycopg.Error as exc:
        raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
