"""A pack.toml version is checked against the diagrams deployed in the database, those deployed from
the web with no file on the server included, before it is deployed (from the web or by `pack
deploy`): one that removes a role a lane uses, a letter template a diagram issues or a category a
diagram's condition names is refused, each finding naming the setting removed and the deployed
diagram and element, nothing deployed."""
from html import unescape
from pathlib import Path

import pytest

from tests.processes.conftest import text

SUPPORT = (Path(__file__).parent / "derby_support.bpmn").read_bytes()  # lane Tenancy Support, letter support_offer
ROLE = '[roles.tenancy_support]\nname = "Tenancy Support"\nrank = 2\n'
LETTER = '[letters.support_offer]\ntitle = "Support we can offer"\nfile = "letters/support_offer.txt"\n'
DEPLOYED = "derby_support.bpmn (derby_support version 1, deployed)"


@pytest.fixture
def support_on_the_web(pack_dir, signed_in, world, cli):
    """Settings v2 (from the files) add the Tenancy Support role and its letter; paula then deploys
    the derby_support process on the web: it is in the database only. Returns paula's browser."""
    toml = (pack_dir / "pack.toml").read_text()
    (pack_dir / "pack.toml").write_text(toml.replace("[roles.investigating_officer]", ROLE + "[roles.investigating_officer]")
                                        + LETTER)
    (pack_dir / "letters" / "support_offer.txt").write_text("Dear $customer_name,\nWe can offer you: $support_offered.\n")
    assert "deployed pack.toml and letters version 2" in cli("pack", "deploy", "--as", "paula", "--note", "Support")
    paula = signed_in("paula")
    assert paula.upload(SUPPORT, "derby_support.bpmn", action="deploy", note="Support offered").status_code == 302
    assert "derby_support v1" in cli("pack", "versions")
    assert not (pack_dir / "derby_support.bpmn").exists()
    return paula


def _without(text_, part):
    assert part in text_, part
    return text_.replace(part, "", 1)


def test_pack_deploy_refuses_a_pack_toml_removing_a_role_a_lane_deployed_from_the_web_uses(support_on_the_web, pack_dir, cli):
    (pack_dir / "pack.toml").write_text(_without((pack_dir / "pack.toml").read_text(), ROLE))
    refused = cli.fails("pack", "deploy", "--as", "paula", "--note", "No support team")
    assert f"error: {DEPLOYED}: 'Tenancy Support' (Lane_support): lane 'Tenancy Support' names no role of the " \
           f"Derby Homes pack (the new pack.toml removes [roles.tenancy_support])" in refused, refused
    assert refused.rstrip().endswith("refused: nothing changed")
    assert "pack.toml and letters v3" not in cli("pack", "versions")  # nothing deployed


def test_pack_deploy_refuses_a_pack_toml_removing_a_letter_a_diagram_deployed_from_the_web_issues(support_on_the_web, pack_dir, cli):
    (pack_dir / "pack.toml").write_text(_without((pack_dir / "pack.toml").read_text(), LETTER))
    refused = cli.fails("pack", "deploy", "--as", "paula")
    assert f"{DEPLOYED}: 'Letter offering support' (letter): unknown letter template 'support_offer'" in refused
    assert "(the new pack.toml removes [letters.support_offer])" in refused
    assert "pack.toml and letters v3" not in cli("pack", "versions")


def _settings_form(pack_dir, toml):
    letters = {f"letter:{p.relative_to(pack_dir).as_posix()}": p.read_text() for p in (pack_dir / "letters").iterdir()}
    return {"pack_toml": toml, **letters, "change_note": "Tidy up", "action": "deploy"}


def test_the_web_refuses_settings_removing_a_letter_a_deployed_diagram_issues(support_on_the_web, pack_dir, cli):
    paula = support_on_the_web
    refused = paula.post("/processes/settings/edit", _settings_form(pack_dir, _without((pack_dir / "pack.toml").read_text(), LETTER)),
                         token_from="/processes/settings/edit")
    shown = text(refused)
    assert refused.status_code == 422 and "nothing was deployed" in shown
    assert f"{DEPLOYED}: 'Letter offering support' (letter): unknown letter template 'support_offer' " \
           f"(the new pack.toml removes [letters.support_offer])" in shown, shown
    assert "pack.toml and letters v3" not in cli("pack", "versions")


def test_the_web_and_pack_deploy_refuse_settings_removing_a_category_a_deployed_diagrams_condition_names(
        support_on_the_web, pack_dir, cli):
    paula = support_on_the_web
    toml = (pack_dir / "pack.toml").read_text()
    start = toml.index("[categories.near_miss]")
    without = _without(toml, toml[start:toml.index("[categories.hazard]")])
    said = f"{DEPLOYED}: 'Near miss' (f_near_miss): the condition names the category 'near_miss', which pack.toml " \
           f"does not define (its categories: complaints, hazard, mental_health, partner_info, rpo) " \
           f"(the new pack.toml removes [categories.near_miss])"
    refused = paula.post("/processes/settings/edit", _settings_form(pack_dir, without), token_from="/processes/settings/edit")
    assert refused.status_code == 422 and said in text(refused), text(refused)
    assert without in unescape(refused.get_data(as_text=True))  # the edit kept
    (pack_dir / "pack.toml").write_text(without)
    assert said in cli.fails("pack", "deploy", "--as", "paula")
    assert "pack.toml and letters v3" not in cli("pack", "versions")


def test_the_check_names_a_category_a_condition_compares_with_that_pack_toml_lacks(pack_dir, cli):
    review = pack_dir / "derby_review.bpmn"
    review.write_text(review.read_text().replace("category in ['rpo', 'partner_info']", "category in ['rpo', 'partners']", 1))
    error = cli.fails("pack", "check")
    assert "derby_review.bpmn: 'Offender / partners' (f_asb): the condition names the category 'partners', which " \
           "pack.toml does not define (its categories: complaints, hazard, mental_health, near_miss, partner_info, rpo)" in error
