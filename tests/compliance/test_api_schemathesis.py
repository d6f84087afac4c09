"""schemathesis against the served OpenAPI document, on a real server: generated and
malformed requests to every operation, with a valid token, must never get a server error, and
every answer must match the document (status codes, content types, response schemas)."""
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture
def live_api(seeded, cli, app):
    out = cli("tokens", "create", "fuzz", "--scope", "markers:read", "--scope", "concerns:write",
              "--scope", "out_of_hours:read", "--as", "ada")
    token = re.search(r"(af_\S+)", out).group(1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()
    thread.join(timeout=10)


def test_schemathesis_finds_no_server_error(live_api, tmp_path):
    base, token = live_api
    beside = Path(sys.executable).parent / "st"  # the venv's, even when it is not on PATH
    st = str(beside) if beside.exists() else shutil.which("st")
    assert st, "schemathesis is a test dependency (pip install -e .[test])"
    result = subprocess.run(
        [st, "run", f"{base}/api/v1/openapi.json", "--checks", CHECKS, "-H", f"Authorization: Bearer {token}",
         "--max-examples", os.environ.get("ALERTFLOW_FUZZ_EXAMPLES", "40"), "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
