"""Driver corrections and stop addresses.

``collection_event.withdrawn_at`` marks a report the driver took back (undo / correct the last
report): a withdrawn report no longer sets the stop's status, the container's last emptying or the
public figures, and stays stored for the record. ``bin.address`` is the street address a driver sees
next to the container's id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE collection_event ADD COLUMN withdrawn_at timestamptz")
    op.execute("ALTER TABLE bin ADD COLUMN address text")


def downgrade() -> None:
    op.execute("ALTER TABLE bin DROP COLUMN address")
    op.execute("ALTER TABLE collection_event DROP COLUMN withdrawn_at")
