"""Schemathesis against the gateway's own OpenAPI document, as an admin, a customer and an
anonymous caller: every operation, every phase (examples, coverage, fuzzing, stateful).
No answer may be a server error, every answer must match the document (a documented
status, content type and headers, a body of the documented schema), and a schema-valid
request is taken: what the API refuses, the document says (schemathesis.toml lists the
refusals that depend on what exists, such as an unknown product id). A fixed seed makes a
failure repeatable; `make fuzz` runs longer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Platform

SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))
# one client sending for minutes is a flood: its budget would answer most requests with 429
# (tests/e2e/test_budgets.py tests that); lifted, so every request reaches its route
PLATFORM_ENV = {"GATEWAY_BUDGET_RESTORE_RATE": "1e12"}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
)
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 240)  # FUZZ_SECONDS=300 runs past the suite's 300 s default
@pytest.mark.parametrize("role", ["admin", "customer", None])
def test_generated_requests_get_no_server_error_and_documented_answers(
    platform: Platform, role: str | None
) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        platform.gateway.base_url + "/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        "20",
        "--max-time",
        str(SECONDS),
        "--seed",
        "20261130",
        "--workers",
        "1",
        "--no-color",
    ]
    if role is not None:
        command += [
            "--header",
            f"Authorization: Bearer {platform.make_token('fuzz-' + role, role)}",
        ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "generated" in run.stdout
