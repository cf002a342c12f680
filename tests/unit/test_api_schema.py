"""Schemathesis against the live OpenAPI schema of the partner and intake endpoints:
generated requests (valid and not) never cause a server error or a response the schema
does not describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories.partner_world import PartnerWorld, build_partner_world

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    path_regex=r"^/api/v1/(reports|media)"
)


@pytest.fixture
def wsgi_db(db: None) -> Iterator[None]:
    # Calls go through the WSGI application itself, whose request signals would close
    # the test's database connection; Django's test client unhooks them the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(wsgi_db: None) -> PartnerWorld:
    return build_partner_world()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_partner_api_conforms_to_schema(case: Any, world: PartnerWorld) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {world.key_a}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


intake_schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    path_regex=r"^/api/v1/intake/"
)


@intake_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_intake_api_conforms_to_schema(case: Any, wsgi_db: None) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
