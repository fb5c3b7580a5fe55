"""A city's collection policy per fraction, kept with the fraction's morning schedule.

``plan_schedule.policy`` holds the plan options a city chose for the fraction (``policy``,
``risk``, ``thresholds``, ``collection_days``, ...); every plan of the fraction, scheduled or queued
by a dispatcher, starts from them. Existing schedules keep the product's defaults (``{}``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE plan_schedule ADD COLUMN policy jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE plan_schedule DROP COLUMN policy")
