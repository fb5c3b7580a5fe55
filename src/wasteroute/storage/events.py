"""A city's announced local events (``announced_event``), as the forecast reads them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from wasteroute.storage.models import AnnouncedEventRow


class AnnouncedEventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def around(self, city_id: int, day: date, *, past_days: int, ahead_days: int) -> list[AnnouncedEventRow]:
        """The city's events with a day from ``past_days`` before ``day`` to ``ahead_days`` after it."""
        return list(
            self.session.query(AnnouncedEventRow)
            .filter(
                AnnouncedEventRow.city_id == city_id,
                AnnouncedEventRow.last_day >= day - timedelta(days=past_days),
                AnnouncedEventRow.first_day <= day + timedelta(days=ahead_days),
            )
            .order_by(AnnouncedEventRow.first_day, AnnouncedEventRow.id)
            .all()
        )
