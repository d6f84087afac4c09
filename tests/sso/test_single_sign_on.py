"""Issue 19, single sign-on: people sign in with the landlord's OpenID Connect provider (a real
provider process on 127.0.0.1, tests/sso/provider.py); the pack's [sso] groups give their roles,
which follow their groups at each sign-in; tokens that cannot be trusted and forged callbacks are
refused with a clear page, never a server error; local accounts keep working."""
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.packs.world import copy_pack
from tests.sso.conftest import CLIENT_ID, CLIENT_SECRET, PROVIDER_NAME, SSO_SECTION, at_provider, sign_in_with_provider
from tests.helpers import Browser
from workflows.platform.db import transaction
from workflows.platform.models import AuditEvent, User

ENTRA_ADMINS = "7d5c1f7e-0b6a-4d1e-9a53-2f0c1c9d8e11"


def account(username):
    with transaction() as db:
        user = db.scalar(select(User).where(User.username == username))
        return None if user is None else {"full_name": user.full_name, "email": user.email,
                                          "roles": user.role_keys, "password": user.password_hash}


def events(action):
    with transaction() as db:
        return [(e.actor, e.detail) for e in db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                        .order_by(AuditEvent.id))]


def signed_in(client) -> bool:
    return client.get("/inbox").status_code == 200


def page(response) -> str:
    return response.get_data(as_text=True)


def test_the_sign_in_page_offers_the_provider_only_when_single_sign_on_is_set_up(sso_pack, sso_app, monkeypatch):
    assert f"Sign in with {PROVIDER_NAME}" in page(sso_app.test_client().get("/sign-in"))
    for name in ("ALERTFLOW_OIDC_ISSUER", "ALERTFLOW_OIDC_CLIENT_ID", "ALERTFLOW_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    from webapp import create_app
    local_only = create_app({"TESTING": True}).test_client()
    assert "Sign in with" not in page(local_only.get("/sign-in"))
    refused = local_only.get("/sign-in/sso")
    assert refused.status_code == 404 and "Single sign-on is not set up here" in page(refused)


def test_a_first_sign_in_creates_the_account_with_the_roles_its_groups_give(sso_app, provider):
    provider.sign_in_as("entra-object-1", "sam.jones@landlord.example", ["ASB Managers", "Canteen rota"],
                        name="Sam Jones", email="sam.jones@landlord.example")
    client = sso_app.test_client()
    start = client.get("/sign-in/sso")
    asked = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.headers["Location"].startswith(f"{provider.issuer}/authorize?")  # from discovery
    assert asked["response_type"] == ["code"] and "openid" in asked["scope"][0].split()
    assert asked["state"] and asked["nonce"] and asked["code_challenge_method"] == ["S256"]
    done = client.get(at_provider(start.headers["Location"]))
    assert done.status_code == 302 and done.headers["Location"].endswith("/inbox")
    assert signed_in(client)
    assert account("sam.jones@landlord.example") == {
        "full_name": "Sam Jones", "email": "sam.jones@landlord.example", "roles": {"asb_manager", "staff"},
        "password": None}  # no password: this account signs in only through the provider
    assert events("user_added")[-1:] == [("single sign-on", {"username": "sam.jones@landlord.example",
                                                        "roles": ["asb_manager", "staff"]})]
    (actor, detail), = events("signed_in")
    assert actor == "sam.jones@landlord.example" and detail["method"] == "single sign-on"
    assert detail["provider"] == PROVIDER_NAME and detail["roles"] == ["asb_manager", "staff"]


def test_a_group_given_by_its_object_id_maps_to_its_roles_and_roles_of_several_groups_add_up(sso_app, provider):
    provider.sign_in_as("entra-object-2", "ian.it@landlord.example", [ENTRA_ADMINS, "ASB Team"])
    client = sso_app.test_client()
    sign_in_with_provider(client)
    assert account("ian.it@landlord.example")["roles"] == {"admin", "asb_team"}
    assert client.get("/admin/users").status_code == 200  # the administrator's page opens


def test_roles_follow_groups_at_each_sign_in_and_a_role_change_ends_the_older_sessions(sso_app, provider):
    provider.sign_in_as("entra-object-3", "amy", ["ASB Team"])
    office = sso_app.test_client()
    sign_in_with_provider(office)
    assert account("amy")["roles"] == {"asb_team"}

    provider.sign_in_as("entra-object-3", "amy", ["ASB Team", "ASB Managers"],  # promoted, and married
                        name="Amy Clarke", email="amy.clarke@landlord.example")
    laptop = sso_app.test_client()
    sign_in_with_provider(laptop)
    assert account("amy")["roles"] == {"asb_team", "asb_manager", "staff"}
    assert account("amy")["full_name"] == "Amy Clarke"
    assert events("user_details_changed") == [("single sign-on", {
        "username": "amy", "full_name": "Amy Clarke", "email": "amy.clarke@landlord.example"})]
    assert not signed_in(office)  # the session from before the role change has ended
    assert signed_in(laptop)

    provider.sign_in_as("entra-object-3", "amy", ["ASB Managers"])  # removed from the ASB Team group
    sign_in_with_provider(office)
    assert account("amy")["roles"] == {"asb_manager", "staff"}
    assert not signed_in(laptop)
    assert [d for _, d in events("user_roles_changed")] == [
        {"username": "amy", "added": ["asb_manager", "staff"], "removed": []},
        {"username": "amy", "added": [], "removed": ["asb_team"]}]
    assert {actor for actor, _ in events("user_roles_changed")} == {"single sign-on"}


def test_the_same_sign_in_again_changes_nothing_and_keeps_the_other_sessions(sso_app, provider):
    provider.sign_in_as("entra-object-4", "bea", ["ASB Team"])
    first, second = sso_app.test_client(), sso_app.test_client()
    sign_in_with_provider(first)
    sign_in_with_provider(second)
    assert signed_in(first) and signed_in(second)
    assert events("user_roles_changed") == []


def test_someone_whose_groups_give_no_role_here_is_refused_with_a_clear_page(sso_app, provider):
    provider.sign_in_as("entra-object-5", "carl", ["Canteen rota"])
    client = sso_app.test_client()
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403
    assert "none of your groups there gives you a role in this system" in page(refused)
    assert account("carl") is None and not signed_in(client)
    (actor, detail), = events("sso_sign_in_refused")
    assert actor == "carl" and detail["groups"] == ["Canteen rota"]


def test_someone_removed_from_every_mapped_group_is_refused_and_their_sessions_end(sso_app, provider):
    provider.sign_in_as("entra-object-6", "dee", ["ASB Team"])
    before = sso_app.test_client()
    sign_in_with_provider(before)
    provider.sign_in_as("entra-object-6", "dee", [])
    refused = sign_in_with_provider(sso_app.test_client())
    assert refused.status_code == 403 and "none of your groups there gives you a role" in page(refused)
    assert not signed_in(before)


def test_an_account_switched_off_here_is_refused_though_the_provider_vouches_for_them(sso_app, provider, cli):
    provider.sign_in_as("entra-object-7", "eve", ["ASB Team"])
    sign_in_with_provider(sso_app.test_client())
    cli("users", "deactivate", "eve")
    client = sso_app.test_client()
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403 and "switched off here" in page(refused)
    assert not signed_in(client)


def test_a_password_account_of_the_same_username_is_not_taken_over(sso_app, provider):
    provider.sign_in_as("someone-else", "ada", [ENTRA_ADMINS])
    client = sso_app.test_client()
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403 and "will not take it over" in page(refused)
    assert not signed_in(client)
    assert account("ada")["roles"] == {"admin"}


def test_local_accounts_still_sign_in_with_a_password_when_single_sign_on_is_set_up(sso_app):
    # (ada is an administrator: her local account takes a code too, which the helper types)
    assert signed_in(Browser(sso_app, "ada").client)


def test_two_step_sign_in_is_left_to_the_identity_provider_for_single_sign_on(sso_app, provider):
    provider.sign_in_as("entra-object-9", "ian", ["7d5c1f7e-0b6a-4d1e-9a53-2f0c1c9d8e11"])  # an administrator
    client = sso_app.test_client()
    assert sign_in_with_provider(client).headers["Location"].endswith("/admin/users")  # where the role lands
    assert client.get("/admin/users").status_code == 200  # no code asked here: the provider's own policy


def test_after_signing_in_the_person_lands_on_the_page_they_asked_for_on_this_site_only(sso_app, provider):
    provider.sign_in_as("entra-object-8", "fay", ["ASB Team"])
    assert sign_in_with_provider(sso_app.test_client(), "/check").headers["Location"].endswith("/check")
    away = sign_in_with_provider(sso_app.test_client(), "https://evil.example/")
    assert away.headers["Location"].endswith("/inbox")


UNTRUSTED = {
    "from the wrong issuer": ({"issuer": "https://login.evil.example/v2.0"},
                              "it was issued by someone other than the configured issuer"),
    "for another application (wrong audience)": ({"audience": "some-other-client"},
                                                 "it was issued for another application"),
    "signed with a key the provider does not publish": ({"sign_with_other_key": True},
                                                        "its signature does not match the provider&#39;s published keys"),
    "that has expired": ({"expires_in": -600}, "it has expired"),
    "with another sign-in's nonce (a replay)": ({"nonce": "a nonce from another sign-in"},
                                                "it does not belong to this sign-in"),
}


@pytest.mark.parametrize("token", UNTRUSTED)
def test_an_id_token_that_cannot_be_trusted_is_refused(sso_app, provider, token):
    misbehaviour, named = UNTRUSTED[token]
    provider.sign_in_as("entra-object-9", "gus", ["ASB Managers"])
    provider.misbehave(**misbehaviour)
    client = sso_app.test_client()
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403, page(refused)
    text = page(refused)
    assert f"The sign-in from {PROVIDER_NAME} was refused because its token could not be trusted" in text
    assert named in text, text
    assert account("gus") is None and not signed_in(client)


def test_a_callback_with_a_forged_state_is_refused_with_a_clear_message(sso_app, provider):
    provider.sign_in_as("entra-object-10", "hal", ["ASB Managers"])
    client = sso_app.test_client()
    start = client.get("/sign-in/sso")
    back = at_provider(start.headers["Location"])
    query = parse_qs(urlsplit(back).query)
    forged = client.get(f"/sign-in/sso/callback?code={query['code'][0]}&state=forged-by-an-attacker")
    assert forged.status_code == 400
    assert "This sign-in did not start here" in page(forged)
    assert account("hal") is None and not signed_in(client)
    # a callback nobody started (another browser), one with no state at all, and a forged error
    for url in (back, f"/sign-in/sso/callback?code={query['code'][0]}",
                "/sign-in/sso/callback?error=access_denied&error_description=Call+0800+000+000&state=forged"):
        refused = sso_app.test_client().get(url)
        assert refused.status_code == 400 and "This sign-in did not start here" in page(refused)
        assert "0800" not in page(refused)


def test_a_callback_is_used_once(sso_app, provider):
    provider.sign_in_as("entra-object-11", "ivy", ["ASB Team"])
    client = sso_app.test_client()
    start = client.get("/sign-in/sso")
    back = at_provider(start.headers["Location"])
    assert client.get(back).status_code == 302
    again = client.get(back)
    assert again.status_code == 400 and "already been used" in page(again)


def test_the_provider_refusing_the_sign_in_shows_its_reason(sso_app, provider):
    client = sso_app.test_client()  # nobody is signed in at the provider: it answers login_required
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403
    assert f"{PROVIDER_NAME} did not sign you in: nobody is signed in at the provider" in page(refused)


def test_the_pack_check_refuses_sso_groups_that_name_unknown_roles(cli, monkeypatch, tmp_path):
    toml = copy_pack(tmp_path, "derby")
    toml.write_text(toml.read_text(encoding="utf-8") + SSO_SECTION.replace('["asb_team"]', '["asb_teem"]'),
                    encoding="utf-8")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "derby")
    error = cli.fails("pack", "check")
    assert "[sso] groups: group 'ASB Team' names unknown roles ['asb_teem']" in error


def test_the_pack_check_refuses_an_sso_section_it_does_not_understand(cli, monkeypatch, tmp_path):
    toml = copy_pack(tmp_path, "derby")
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[sso]\ngroup = { "ASB Team" = ["asb_team"] }\n',
                    encoding="utf-8")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "derby")
    assert "[sso] has unknown settings ['group'] (known: groups" in cli.fails("pack", "check")


def test_a_provider_whose_discovery_document_names_another_issuer_is_not_trusted(sso_app, provider):
    provider.misbehave(discovery_issuer="https://login.evil.example/v2.0")
    refused = sso_app.test_client().get("/sign-in/sso")
    assert refused.status_code == 502
    assert "describes itself as issuer &#39;https://login.evil.example/v2.0&#39;" in page(refused)


def test_an_issuer_that_is_not_https_is_refused_when_the_app_starts(sso_pack, monkeypatch):
    monkeypatch.setenv("ALERTFLOW_OIDC_ISSUER", "http://login.landlord.example/v2.0")
    monkeypatch.setenv("ALERTFLOW_OIDC_CLIENT_ID", "id")
    monkeypatch.setenv("ALERTFLOW_OIDC_CLIENT_SECRET", "secret")
    from webapp import create_app
    with pytest.raises(RuntimeError, match="ALERTFLOW_OIDC_ISSUER must be an https:// address"):
        create_app({"TESTING": True})


def test_too_many_groups_to_list_in_the_token_is_refused_with_what_to_do(sso_app, provider):
    # Microsoft Entra ID's "groups overage": the token points elsewhere instead of listing the groups
    provider.sign_in_as("entra-object-12", "jo", None, _claim_names={"groups": "src1"},
                        _claim_sources={"src1": {"endpoint": "https://graph.microsoft.com/v1.0/me/getMemberObjects"}})
    refused = sign_in_with_provider(sso_app.test_client())
    assert refused.status_code == 403
    assert "too many groups" in page(refused) and "groups assigned to the application" in page(refused)
    assert account("jo") is None


def test_a_single_sign_on_account_has_no_password_here_and_its_page_says_roles_follow_groups(sso_app, provider, cli):
    provider.sign_in_as("entra-object-13", "kit", ["ASB Team"])
    sign_in_with_provider(sso_app.test_client())
    assert "signs in with single sign-on, so they have no password here" in cli.fails(
        "users", "password", "kit", "--password", "a long password")
    ada = Browser(sso_app, "ada").client
    shown = page(ada.get("/admin/users/kit"))
    assert "their roles follow their groups at the identity" in shown and 'name="password"' not in shown
    assert 'name="password"' in page(ada.get("/admin/users/ada"))


def test_the_last_administrator_removed_from_the_admin_group_keeps_the_role_but_is_refused(sso_app, provider, cli):
    provider.sign_in_as("entra-object-14", "ian.it@landlord.example", [ENTRA_ADMINS, "ASB Team"])
    sign_in_with_provider(sso_app.test_client())
    cli("users", "deactivate", "ada")  # ian is now the only active administrator
    provider.sign_in_as("entra-object-14", "ian.it@landlord.example", ["ASB Team"])
    client = sso_app.test_client()
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403 and "the only active administrator" in page(refused)
    assert not signed_in(client)
    assert account("ian.it@landlord.example")["roles"] == {"admin", "asb_team"}  # nobody is left unable to manage accounts
    assert events("user_roles_changed") == []


def test_a_pack_that_maps_no_groups_refuses_everyone_saying_what_is_missing(cli, monkeypatch, tmp_path, provider):
    copy_pack(tmp_path, "derby")  # Derby as it is: no [sso] section
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    cli("pack", "deploy")
    for name, value in (("ISSUER", provider.issuer), ("CLIENT_ID", CLIENT_ID), ("CLIENT_SECRET", CLIENT_SECRET)):
        monkeypatch.setenv(f"ALERTFLOW_OIDC_{name}", value)
    from webapp import create_app
    client = create_app({"TESTING": True}).test_client()
    assert "Sign in with single sign-on" in page(client.get("/sign-in"))  # the default name on the button
    provider.sign_in_as("entra-object-15", "lee", ["ASB Team"])
    refused = sign_in_with_provider(client)
    assert refused.status_code == 403 and "[sso] groups in the policy pack" in page(refused)
