"""Schema v1: cities, fleet, bins, sensors, readings, state, collections, plans, dead letters, principals.

``sensor_reading`` becomes a TimescaleDB hypertable when the extension can be loaded; otherwise it is
natively range-partitioned by month with a default partition and a BRIN index on the time column.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from datetime import UTC, datetime

from alembic import op

from wasteroute.storage import partitions, timescale

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FRACTIONS = "('residual', 'paper', 'glass', 'packaging', 'bio')"

TABLES = f"""
CREATE TABLE city (
    id              serial PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{{1,40}}$'),
    name            text NOT NULL,
    timezone        text NOT NULL DEFAULT 'Europe/Berlin',
    center_lon      double precision NOT NULL,
    center_lat      double precision NOT NULL,
    fill_threshold  real NOT NULL DEFAULT 0.8 CHECK (fill_threshold > 0 AND fill_threshold <= 1.2),
    holiday_region  text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE container_type (
    id          serial PRIMARY KEY,
    city_id     integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    code        text NOT NULL,
    name        text NOT NULL,
    volume_l    real NOT NULL CHECK (volume_l > 0),
    height_mm   real NOT NULL CHECK (height_mm > 0),
    service_s   integer NOT NULL CHECK (service_s >= 0),
    max_mass_kg real NOT NULL CHECK (max_mass_kg > 0),
    UNIQUE (city_id, code)
);

CREATE TABLE depot (
    id          serial PRIMARY KEY,
    city_id     integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    external_id text NOT NULL,
    name        text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    UNIQUE (city_id, external_id)
);

CREATE TABLE disposal_facility (
    id          serial PRIMARY KEY,
    city_id     integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    external_id text NOT NULL,
    name        text NOT NULL,
    lon         double precision NOT NULL,
    lat         double precision NOT NULL,
    fractions   text[] NOT NULL,
    opens       time NOT NULL DEFAULT '00:00',
    closes      time NOT NULL DEFAULT '23:59',
    unload_s    integer NOT NULL DEFAULT 900 CHECK (unload_s >= 0),
    UNIQUE (city_id, external_id)
);

CREATE TABLE vehicle (
    id              serial PRIMARY KEY,
    city_id         integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    depot_id        integer NOT NULL REFERENCES depot(id),
    external_id     text NOT NULL,
    name            text NOT NULL,
    fraction        text NOT NULL CHECK (fraction IN {FRACTIONS}),
    volume_l        real NOT NULL CHECK (volume_l > 0),
    mass_kg         real NOT NULL CHECK (mass_kg > 0),
    shift_start     time NOT NULL DEFAULT '06:00',
    shift_end       time NOT NULL DEFAULT '14:30',
    max_duration_s  integer NOT NULL DEFAULT 30600 CHECK (max_duration_s > 0),
    access_class    text NOT NULL DEFAULT 'standard',
    active          boolean NOT NULL DEFAULT true,
    UNIQUE (city_id, external_id)
);

CREATE TABLE bin (
    id                 bigserial PRIMARY KEY,
    city_id            integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    external_id        text NOT NULL,
    site_id            text,
    lon                double precision NOT NULL,
    lat                double precision NOT NULL,
    fraction           text NOT NULL CHECK (fraction IN {FRACTIONS}),
    container_type_id  integer NOT NULL REFERENCES container_type(id),
    access_class       text NOT NULL DEFAULT 'standard',
    collection_start   time NOT NULL DEFAULT '00:00',
    collection_end     time NOT NULL DEFAULT '23:59',
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city_id, external_id)
);
CREATE INDEX bin_city_fraction ON bin (city_id, fraction) WHERE active;

CREATE TABLE sensor (
    id               bigserial PRIMARY KEY,
    city_id          integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    bin_id           bigint REFERENCES bin(id) ON DELETE SET NULL,
    device_id        text NOT NULL UNIQUE,
    model            text NOT NULL DEFAULT 'native',
    mount_offset_mm  real NOT NULL DEFAULT 0 CHECK (mount_offset_mm >= 0),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensor_bin ON sensor (bin_id);

CREATE TABLE bin_state (
    bin_id           bigint PRIMARY KEY REFERENCES bin(id) ON DELETE CASCADE,
    city_id          integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    sensor_id        bigint,
    measured_at      timestamptz NOT NULL,
    fill_level       real,
    distance_mm      real,
    battery_pct      real,
    battery_v        real,
    temperature_c    real,
    tilt_deg         real,
    last_emptied_at  timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bin_state_city ON bin_state (city_id);

CREATE TABLE collection_event (
    id               bigserial PRIMARY KEY,
    city_id          integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    bin_id           bigint NOT NULL REFERENCES bin(id) ON DELETE CASCADE,
    vehicle_id       integer REFERENCES vehicle(id) ON DELETE SET NULL,
    route_stop_id    bigint,
    kind             text NOT NULL
                     CHECK (kind IN ('emptied', 'not_reachable', 'damaged', 'overfilled', 'detected_drop')),
    observed_fill    real CHECK (observed_fill IS NULL OR (observed_fill >= 0 AND observed_fill <= 1.5)),
    occurred_at      timestamptz NOT NULL,
    client_event_id  uuid UNIQUE,
    lon              double precision,
    lat              double precision,
    source           text NOT NULL DEFAULT 'driver',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collection_event_bin_time ON collection_event (bin_id, occurred_at DESC);
CREATE INDEX collection_event_city_time ON collection_event (city_id, occurred_at DESC);

CREATE TABLE principal (
    id            serial PRIMARY KEY,
    city_id       integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'dispatcher', 'driver', 'gateway')),
    vehicle_id    integer REFERENCES vehicle(id) ON DELETE SET NULL,
    key_prefix    text NOT NULL UNIQUE,
    key_hash      text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'driver' OR vehicle_id IS NOT NULL)
);

CREATE TABLE plan (
    id            bigserial PRIMARY KEY,
    city_id       integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    fraction      text NOT NULL CHECK (fraction IN {FRACTIONS}),
    service_date  date NOT NULL,
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress      real NOT NULL DEFAULT 0,
    options       jsonb NOT NULL DEFAULT '{{}}',
    summary       jsonb,
    diagnosis     text,
    error         text,
    created_by    integer REFERENCES principal(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX plan_city_day ON plan (city_id, service_date DESC, fraction);
CREATE INDEX plan_queue ON plan (created_at) WHERE status = 'queued';

CREATE TABLE route (
    id           bigserial PRIMARY KEY,
    plan_id      bigint NOT NULL REFERENCES plan(id) ON DELETE CASCADE,
    city_id      integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    vehicle_id   integer NOT NULL REFERENCES vehicle(id),
    distance_m   integer NOT NULL,
    duration_s   integer NOT NULL,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    trips        jsonb NOT NULL DEFAULT '[]',
    UNIQUE (plan_id, vehicle_id)
);

CREATE TABLE route_stop (
    id                bigserial PRIMARY KEY,
    route_id          bigint NOT NULL REFERENCES route(id) ON DELETE CASCADE,
    city_id           integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    seq               integer NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('start', 'stop', 'facility', 'break', 'end')),
    bin_id            bigint REFERENCES bin(id) ON DELETE SET NULL,
    facility_id       integer REFERENCES disposal_facility(id) ON DELETE SET NULL,
    depot_id          integer REFERENCES depot(id) ON DELETE SET NULL,
    lon               double precision,
    lat               double precision,
    eta               timestamptz NOT NULL,
    departure         timestamptz NOT NULL,
    load_volume_l     real NOT NULL DEFAULT 0,
    load_mass_kg      real NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'planned'
                      CHECK (status IN ('planned', 'emptied', 'not_reachable', 'damaged', 'overfilled')),
    UNIQUE (route_id, seq)
);

CREATE TABLE plan_bin (
    plan_id        bigint NOT NULL REFERENCES plan(id) ON DELETE CASCADE,
    bin_id         bigint NOT NULL REFERENCES bin(id) ON DELETE CASCADE,
    category       text NOT NULL CHECK (category IN ('must', 'may', 'skip')),
    forecast_fill  real,
    routed         boolean NOT NULL DEFAULT false,
    reason         text NOT NULL,
    PRIMARY KEY (plan_id, bin_id)
);

CREATE TABLE dead_letter (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    channel      text NOT NULL,
    topic        text,
    payload      bytea NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL,
    city_id      integer REFERENCES city(id) ON DELETE SET NULL
);
CREATE INDEX dead_letter_time ON dead_letter (received_at DESC);

CREATE TABLE alert (
    id          bigserial PRIMARY KEY,
    city_id     integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
    bin_id      bigint REFERENCES bin(id) ON DELETE CASCADE,
    sensor_id   bigint REFERENCES sensor(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('fire', 'tilt', 'stale', 'overflow_forecast', 'battery')),
    raised_at   timestamptz NOT NULL,
    cleared_at  timestamptz,
    detail      text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alert_open ON alert (bin_id, kind) WHERE cleared_at IS NULL;
"""

READING_COLUMNS = """
    sensor_id      bigint NOT NULL,
    measured_at    timestamptz NOT NULL,
    city_id        integer NOT NULL,
    bin_id         bigint,
    fill_level     real,
    distance_mm    real,
    battery_pct    real,
    battery_v      real,
    temperature_c  real,
    tilt_deg       real,
    rssi_dbm       real,
    snr_db         real,
    source         text NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    raw            bytea,
    PRIMARY KEY (sensor_id, measured_at)
"""

BIN_DAILY_TABLE = """
CREATE TABLE bin_daily (
    sensor_id  bigint NOT NULL,
    day        timestamptz NOT NULL,
    min_fill   real,
    max_fill   real,
    last_fill  real,
    n          bigint NOT NULL,
    PRIMARY KEY (sensor_id, day)
)
"""

RETENTION_DAYS = 400


def upgrade() -> None:
    op.execute(TABLES)
    conn = op.get_bind()
    if timescale.timescale_available(conn):
        op.execute(f"CREATE TABLE sensor_reading ({READING_COLUMNS})")
        timescale.make_hypertable(conn, timescale.configured_retention_days(RETENTION_DAYS))
    else:
        op.execute(f"CREATE TABLE sensor_reading ({READING_COLUMNS}) PARTITION BY RANGE (measured_at)")
        op.execute("CREATE TABLE sensor_reading_default PARTITION OF sensor_reading DEFAULT")
        op.execute("CREATE INDEX sensor_reading_time_brin ON sensor_reading USING brin (measured_at)")
        partitions.ensure_partitions(conn, datetime.now(UTC).date())
    op.execute("CREATE INDEX sensor_reading_city_time ON sensor_reading (city_id, measured_at)")
    if timescale.has_continuous_aggregates(conn):
        timescale.create_daily_aggregate(conn)
    else:
        op.execute(BIN_DAILY_TABLE)


def downgrade() -> None:
    conn = op.get_bind()
    kind = conn.exec_driver_sql(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = 'bin_daily'"
    ).scalar()
    if kind in ("r", "p"):
        op.execute("DROP TABLE bin_daily")
    elif kind is not None:  # a TimescaleDB continuous aggregate (a view) or a materialized view
        op.execute("DROP MATERIALIZED VIEW bin_daily CASCADE")
    op.execute("DROP TABLE sensor_reading CASCADE")
    for table in (
        "alert",
        "dead_letter",
        "plan_bin",
        "route_stop",
        "route",
        "plan",
        "principal",
        "collection_event",
        "bin_state",
        "sensor",
        "bin",
        "vehicle",
        "disposal_facility",
        "depot",
        "container_type",
        "city",
    ):
        op.execute(f"DROP TABLE {table}")
