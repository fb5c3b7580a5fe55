"""Property-based run over the OpenAPI schema: no server error and no answer that contradicts the
documented status codes, content types, headers or response schemas, for every operation.

Each operation is called with a key of the role it is meant for (plus the anonymous open-data ones),
on the two-city world; every example runs in a savepoint that is rolled back. Few examples per
operation keep the run short; the seed is fixed so that a failure reproduces.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.support import SETTINGS, World
from wasteroute.api.app import create_app

EXAMPLES = int(os.environ.get("WASTEROUTE_SCHEMATHESIS_EXAMPLES", "8"))
"""Examples per operation; raise it for a deeper run (the default keeps the suite fast)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schemathesis.serializer("text/csv")
def _csv(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _labels() -> list[str]:
    spec = create_app(SETTINGS, "postgresql://unused/unused").openapi()
    labels = []
    for result in schemathesis.openapi.from_dict(spec).get_all_operations():
        op: Any = result.ok()  # type: ignore[union-attr]  # an invalid operation schema raises here
        labels.append(str(op.label))
    return labels


LABELS = _labels()


@pytest.fixture(scope="module")
def api_schema(shared_world: World) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", shared_world.app)


def _role(path: str) -> str | None:
    if path.startswith("/api/v1/driver"):
        return "driver"
    if path.startswith("/api/v1/ingest"):
        return "gateway"
    if path.startswith("/api/v1/admin"):
        return "admin"
    if path.startswith("/api/v1/open") or not path.startswith("/api/"):
        return None
    return "dispatcher"


@pytest.mark.parametrize("label", LABELS)
def test_operation_conforms_to_its_schema(
    label: str, api_schema: Any, shared_world: World, in_savepoint: Callable[[Callable[[], Any]], Any]
) -> None:
    op = api_schema.find_operation_by_label(label)
    assert op is not None, label
    role = _role(op.path)
    headers = {"X-API-Key": shared_world.a.keys[role]} if role else {}

    @given(case=op.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        in_savepoint(lambda: case.call_and_validate(headers=headers, checks=CHECKS))

    run()
