"""Single sign-on tests: the OpenID Connect provider of tests/sso/provider.py runs as its own
process on 127.0.0.1 (one per module), and the web app, configured by the environment variables
an IT administrator sets, signs people in through it over real HTTP."""
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.packs.world import copy_pack

CLIENT_ID, CLIENT_SECRET = "alertflow-test-client", "a client secret only the test knows"
CALLBACK = "http://localhost/sign-in/sso/callback"  # the Flask test client's address for the callback
PROVIDER_NAME = "Test Entra"
# the groups of the copy of Derby's pack the tests run on: by name, and by an Entra-style object id
SSO_SECTION = """
[sso]
groups = { "ASB Team" = ["asb_team"], "ASB Managers" = ["asb_manager", "staff"], "7d5c1f7e-0b6a-4d1e-9a53-2f0c1c9d8e11" = ["admin"] }
"""


class ProviderProcess:
    """The running provider: its issuer URL, and the test's hands on who is signed in there."""

    def __init__(self, issuer: str, process):
        self.issuer, self.process = issuer, process

    def _post(self, path: str, body):
        request = urllib.request.Request(f"{self.issuer}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def sign_in_as(self, sub: str, username: str, groups, name=None, email=None, **claims):
        """Someone signed in at the provider, in these groups."""
        person = {"sub": sub, "preferred_username": username, "name": name or username.split("@")[0].title(), **claims}
        if groups is not None:
            person["groups"] = list(groups)
        if email:
            person["email"] = email
        self._post("/_test/signed-in", person)

    def misbehave(self, **how):
        self._post("/_test/misbehave", how)


@pytest.fixture(scope="module")
def provider_process():
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("provider.py")), "--client-id", CLIENT_ID,
         "--client-secret", CLIENT_SECRET, "--redirect-uri", CALLBACK],
        stdout=subprocess.PIPE, text=True)
    try:
        issuer = process.stdout.readline().strip()
        assert issuer.startswith("http://127.0.0.1:"), f"the test provider did not start: {issuer!r}"
        yield ProviderProcess(issuer, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def provider(provider_process):
    provider_process.misbehave()  # a well-behaved provider unless the test says otherwise
    provider_process._post("/_test/signed-in", None)
    return provider_process


@pytest.fixture
def sso_pack(cli, monkeypatch, tmp_path):
    """A copy of Derby's pack whose [sso] groups map the provider's groups to roles, deployed,
    with ada, a local administrator who signs in with a password."""
    toml = copy_pack(tmp_path, "derby")
    toml.write_text(toml.read_text(encoding="utf-8") + SSO_SECTION, encoding="utf-8")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "derby")
    cli("pack", "deploy")
    cli("users", "add", "ada", "--name", "Ada Admin", "--role", "admin", "--password", "correct horse battery")
    return toml


@pytest.fixture
def sso_app(sso_pack, provider, monkeypatch):
    """The web app with single sign-on set up by environment variables, as an administrator would."""
    monkeypatch.setenv("ALERTFLOW_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("ALERTFLOW_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ALERTFLOW_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("ALERTFLOW_OIDC_PROVIDER_NAME", PROVIDER_NAME)
    from webapp import create_app
    return create_app({"TESTING": True})


def at_provider(location: str) -> str:
    """Follow the app's redirect to the provider's /authorize as a browser would; returns where the
    provider sends the browser back to (a path and query on this site)."""
    response = requests.get(location, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


def sign_in_with_provider(client, next_path=None):
    """Press "Sign in with ..." and go through the provider; the app's last response."""
    start = client.get("/sign-in/sso" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.get_data(as_text=True)
    return client.get(at_provider(start.headers["Location"]))
