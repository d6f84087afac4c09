"""Single sign-on in a real browser: headless Chromium presses "Sign in with ..." on the real app
(waitress on a free port), goes through the provider process and lands signed in, its roles
from its groups; the local password form is still there beside the button."""
import pytest
from sqlalchemy import select

from tests.conftest import serve_app
from tests.helpers import Cli
from tests.packs.world import copy_pack
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, PROVIDER_NAME, SSO_SECTION
from workflows.platform.db import transaction
from workflows.platform.models import User


@pytest.fixture(scope="module")
def sso_server(live_database, provider_process, tmp_path_factory):
    packs = tmp_path_factory.mktemp("packs")
    toml = copy_pack(packs, "derby")
    toml.write_text(toml.read_text(encoding="utf-8") + SSO_SECTION, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALERTFLOW_PACKS_DIR", str(packs))
        mp.setenv("ALERTFLOW_PACK", "derby")
        for name, value in (("ISSUER", provider_process.issuer), ("CLIENT_ID", CLIENT_ID),
                            ("CLIENT_SECRET", CLIENT_SECRET), ("PROVIDER_NAME", PROVIDER_NAME)):
            mp.setenv(f"ALERTFLOW_OIDC_{name}", value)
        Cli()("pack", "deploy")
        url, server = serve_app()
        provider_process._post("/_test/redirect-uri", {"uri": f"{url}/sign-in/sso/callback"})
        yield url
        server.close()


def test_a_person_signs_in_with_the_provider_in_a_browser_and_lands_in_their_inbox(chromium, sso_server, provider):
    provider.sign_in_as("entra-browser-1", "mo.khan@landlord.example", ["ASB Managers"], name="Mo Khan")
    context = chromium.new_context(base_url=sso_server)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/sign-in")
        assert page.get_by_label("Username").is_visible()  # local accounts still sign in here
        page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
        page.wait_for_url("**/inbox")
        assert page.get_by_role("button", name="Sign out mo.khan@landlord.example").is_visible()
        with transaction() as db:
            user = db.scalar(select(User).where(User.username == "mo.khan@landlord.example"))
            assert (user.full_name, user.role_keys) == ("Mo Khan", {"asb_manager", "staff"})
    finally:
        context.close()
