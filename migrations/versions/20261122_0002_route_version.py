"""Route version and vehicle index: the driver's tour is cached and validated by (route id, version).

``route.version`` grows by one whenever a stop of the route changes (a driver's stop event), so an API
process can keep a finished tour's JSON and serve it again until the version moves, and a tablet can
send ``If-None-Match`` and get ``304 Not Modified``. The index serves "this vehicle's route of today".

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE route ADD COLUMN version integer NOT NULL DEFAULT 0")
    op.execute("CREATE INDEX route_vehicle ON route (vehicle_id, plan_id)")


def downgrade() -> None:
    op.execute("DROP INDEX route_vehicle")
    op.execute("ALTER TABLE route DROP COLUMN version")
