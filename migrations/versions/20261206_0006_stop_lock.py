"""Locked stops: a dispatcher pins a container to its tour (and vehicle) before the drivers start.

``route_stop.locked`` is true for a stop a dispatcher fixed by hand; a locked stop cannot be moved to
another tour until it is unlocked.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE route_stop ADD COLUMN locked boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE route_stop DROP COLUMN locked")
