"""Plan jobs that survive a dead worker, plans every morning, cached road matrices.

- ``plan``: ``attempts`` (claims so far), ``lease_until`` (a running job whose lease has passed is
  taken over by another worker), ``worker`` (who holds it), ``trigger`` (``manual`` or
  ``scheduled``); one scheduled plan per city, fraction and service date (a unique index), however
  many workers on however many machines try to create it.
- ``plan_schedule``: per city and fraction, the local time of the morning plan and its service days.
- ``distance_matrix``: road matrices fetched from OSRM, per city, keyed by the set of points.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE plan
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN worker text,
    ADD COLUMN trigger text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'scheduled'));
CREATE UNIQUE INDEX plan_scheduled_once ON plan (city_id, fraction, service_date) WHERE trigger = 'scheduled';
CREATE INDEX plan_running_lease ON plan (lease_until) WHERE status = 'running';
CREATE INDEX plan_city_started ON plan (city_id, started_at);

CREATE TABLE plan_schedule (
    id            serial PRIMARY KEY,
    city_id       integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    fraction      text NOT NULL,
    local_time    time NOT NULL,
    weekdays      integer[] NOT NULL DEFAULT '{0,1,2,3,4,5}'
                  CHECK (weekdays <@ '{0,1,2,3,4,5,6}'::integer[] AND cardinality(weekdays) > 0),
    on_holidays   boolean NOT NULL DEFAULT false,
    time_limit_s  real NOT NULL DEFAULT 20 CHECK (time_limit_s > 0),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city_id, fraction)
);

CREATE TABLE distance_matrix (
    city_id       integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    key           text NOT NULL,
    points        integer NOT NULL CHECK (points >= 0),
    distance_m    bytea NOT NULL,
    duration_s    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (city_id, key)
);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE distance_matrix;
DROP TABLE plan_schedule;
DROP INDEX plan_city_started;
DROP INDEX plan_running_lease;
DROP INDEX plan_scheduled_once;
ALTER TABLE plan DROP COLUMN trigger, DROP COLUMN worker, DROP COLUMN lease_until, DROP COLUMN attempts;
"""
    )
