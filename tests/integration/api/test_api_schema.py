"""Schemathesis against the app's own OpenAPI document: every operation of the JSON API, with generated valid
and invalid input (bounded in examples), sent to the app served on loopback with a key of the municipality.
No answer may be a server error, and every answer - errors included - must have a status, a content type and
a body the document names."""

from __future__ import annotations

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.settings import Settings
from tests.e2e.conftest import serve_in_thread
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.open311.test_open311 import case_rows, make_key

pytestmark = pytest.mark.asyncio

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 25  # per operation and mode: a few seconds each


async def test_no_generated_request_gets_a_server_error(
    settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    key = await make_key(settings, tenant, ["read", "write"])
    await submit_case(client, tenant, key="schema-case-key-0123456789", photo=False)
    (case,) = await case_rows(settings, tenant)
    document = (await client.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {key}"}
    app = create_app(settings)
    with serve_in_thread(app, name="schemathesis-uvicorn") as server, requests.Session() as session:
        base = f"http://127.0.0.1:{server.port}"
        tried, calls = 0, [0]
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # The case the document's paths name, so that generated changes reach a real case too.
                known = {"reference": case.reference} if "{reference}" in operation.path else None

                @hypothesis.settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known))
                def call(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                    calls[0] += 1
                    case.validate_response(response, checks=CHECKS)

                call()
                tried += 1
        assert tried == 10, tried  # five operations, each with valid and invalid input
        assert calls[0] >= tried * 5, calls
