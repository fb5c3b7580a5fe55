"""Codes and numbers beside the English texts, so the pages can speak the user's language.

``alert.params`` holds what raised an alert (``temperature_c`` of a fire alert, ``tilt_deg`` of a tilt
alert); existing alerts get theirs from their English ``detail``. ``plan_bin`` gets the selection's
decision as ``reason_code``/``reason_params`` and the router's reason for leaving a chosen container
out as ``drop_code``/``drop_params``; existing rows get their ``drop_code`` from the English ``reason``
(their selection code stays empty: the pages show the category and the forecast for those).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

# DropReason values (English, as stored in plan_bin.reason after "left out: ") and their codes
_DROPS = {
    "optional, not worth the detour": "optional_not_worth",
    "no compatible vehicle": "no_compatible_vehicle",
    "time window unreachable": "time_window_unreachable",
    "capacity": "capacity",
    "does not fit into the shifts": "no_time_left",
}


def upgrade() -> None:
    op.execute("ALTER TABLE alert ADD COLUMN params jsonb NOT NULL DEFAULT '{}'::jsonb")
    op.execute(
        "UPDATE alert SET params = jsonb_build_object('temperature_c', "
        "substring(detail from 'temperature (-?[0-9]+(?:\\.[0-9]+)?)')::numeric) "
        "WHERE kind = 'fire' AND detail ~ 'temperature -?[0-9]'"
    )
    op.execute(
        "UPDATE alert SET params = jsonb_build_object('tilt_deg', "
        "substring(detail from 'tilted (-?[0-9]+(?:\\.[0-9]+)?)')::numeric) "
        "WHERE kind = 'tilt' AND detail ~ 'tilted -?[0-9]'"
    )
    op.execute(
        "ALTER TABLE plan_bin ADD COLUMN reason_code text, ADD COLUMN reason_params jsonb, "
        "ADD COLUMN drop_code text, ADD COLUMN drop_params jsonb"
    )
    for text, code in _DROPS.items():
        op.execute(
            f"UPDATE plan_bin SET drop_code = '{code}', drop_params = '{{}}'::jsonb "
            f"WHERE drop_code IS NULL AND reason LIKE '%left out: {text}%'"
        )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE plan_bin DROP COLUMN drop_params, DROP COLUMN drop_code, DROP COLUMN reason_params, "
        "DROP COLUMN reason_code"
    )
    op.execute("ALTER TABLE alert DROP COLUMN params")
