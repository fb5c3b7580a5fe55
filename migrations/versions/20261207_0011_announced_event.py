"""Local events a city announces (a market, a festival): their days, place and waste factors, which
the forecast of the containers near them takes into account.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE announced_event (
    id          serial PRIMARY KEY,
    city_id     integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    name        text NOT NULL,
    first_day   date NOT NULL,
    last_day    date NOT NULL CHECK (last_day >= first_day),
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    radius_m    real NOT NULL CHECK (radius_m > 0),
    factors     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announced_event_city_days ON announced_event (city_id, last_day);
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE announced_event")
