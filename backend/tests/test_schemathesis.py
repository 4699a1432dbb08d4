"""A bounded schemathesis run against our own ``/api/schema/`` on a live test server: no 5xx,
no response that contradicts the schema (status codes, content types, headers, bodies), and
invalid requests refused with a 4xx. ``make fuzz`` runs the same with many more examples."""

import os

import hypothesis
import schemathesis
from django.test import Client
from schemathesis import GenerationMode, checks

SERVICE_TOKEN = "fuzz-service-token-0123456789abcdef"
# Per operation and generation mode (valid and invalid data), over 13 operations.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def authorization_for(case, fake_auth0) -> dict:
    if case.path == "/api/sessions/backchannel-logout/":
        return {}
    if case.path.startswith("/api/internal/"):
        return {"Authorization": f"Service {SERVICE_TOKEN}"}
    access = fake_auth0.token("auth0|fuzz")
    if case.path == "/api/sessions/create/":
        return {"Authorization": f"Bearer {access}"}
    created = Client().post("/api/sessions/create/", content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {access}")
    return {"Authorization": f"Session {created.json()['token']}"}


def test_api_matches_its_schema(live_server, transactional_db, settings, fake_auth0):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "SERVICE_API_TOKEN": SERVICE_TOKEN,
                             "AUTH0_CLIENT_ID": "fuzz-client", "CREATE_RATE_USER": "100000/m",
                             "CREATE_RATE_IP": "100000/m"}
    api_schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    examples, failures, operations = 0, [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                                 database=None, suppress_health_check=list(hypothesis.HealthCheck))
            def exercise(case):
                nonlocal examples
                examples += 1
                headers = {**(case.headers or {}), **authorization_for(case, fake_auth0)}
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                exercise()
            except (Exception, BaseExceptionGroup) as failure:  # report every operation's failure
                failures.append(f"{operation.label} [{mode.value}]: {failure}"[:3000])
    print(f"schemathesis: {operations} operations, {examples} examples, {len(failures)} failures")
    assert not failures, "\n\n".join(failures)
    assert operations >= 13
    assert examples >= 200
