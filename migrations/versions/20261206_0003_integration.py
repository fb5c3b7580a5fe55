"""Network-server integrations: The Things Stack and ChirpStack applications and native gateways,
each registered to one city.

Ingest refuses (dead-letters as ``wrong_city``) a reading that arrives through a city's integration
for a device of another city; the broker's users and ACLs are generated from this table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TOKEN = "'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE integration (
            id             serial PRIMARY KEY,
            city_id        integer NOT NULL REFERENCES city(id) ON DELETE CASCADE,
            kind           text NOT NULL CHECK (kind IN ('tts', 'chirpstack', 'native')),
            application_id text NOT NULL CHECK (application_id ~ {TOKEN}),
            tenant_id      text NOT NULL DEFAULT '' CHECK (tenant_id = '' OR tenant_id ~ {TOKEN}),
            topic_prefix   text NOT NULL CHECK (topic_prefix ~ '^[A-Za-z0-9@_.-]+(/[A-Za-z0-9@_.-]+)*$'),
            broker_user    text NOT NULL UNIQUE
                           CHECK (broker_user ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{{0,119}}$'),
            name           text NOT NULL DEFAULT '',
            enabled        boolean NOT NULL DEFAULT true,
            created_at     timestamptz NOT NULL DEFAULT now(),
            UNIQUE (kind, application_id, tenant_id)
        )
        """
    )
    # a ChirpStack application id is a UUID: its topic names no tenant, so it must be unique alone
    op.execute(
        "CREATE UNIQUE INDEX integration_chirpstack_application ON integration (application_id) "
        "WHERE kind = 'chirpstack'"
    )
    op.execute("CREATE INDEX integration_city ON integration (city_id)")


def downgrade() -> None:
    op.execute("DROP TABLE integration")
