"""The roles that run and watch the system are named in pack.toml ([pack] administrator_role,
process_owner_role, compliance_role), not in Python: a landlord whose administrator is 'IT
Service Desk' and whose policy lead changes the diagrams gets the same powers under its own keys."""
import json

from tests.packs.world import copy_pack, world_on_copy

USERS = {"sam": ["staff"], "mia": ["manager"], "ivy": ["it_service_desk"], "pete": ["policy_lead"],
         "cole": ["data_protection"]}


def own_keys(toml):
    text = toml.read_text()
    for old, new in (("[roles.admin]", "[roles.it_service_desk]"), ("[roles.process_owner]", "[roles.policy_lead]"),
                     ("[roles.compliance_officer]", "[roles.data_protection]")):
        assert old in text
        text = text.replace(old, new)
    text = text.replace('assessment_process = "karbon_assessment"',
                        'assessment_process = "karbon_assessment"\nadministrator_role = "it_service_desk"\n'
                        'process_owner_role = "policy_lead"\ncompliance_role = "data_protection"')
    toml.write_text(text.replace('"compliance_officer"', '"data_protection"'))


def test_the_administrator_process_owner_and_compliance_roles_are_the_ones_the_pack_names(cli, monkeypatch, tmp_path):
    world_on_copy(cli, monkeypatch, tmp_path, "karbon", USERS, own_keys)
    assert "token hs" in cli("tokens", "create", "hs", "--scope", "markers:read", "--as", "ivy")
    assert "only an administrator may create API tokens" in cli.fails(
        "tokens", "create", "hs2", "--scope", "markers:read", "--as", "pete")
    assert "ivy is the only active administrator and cannot be switched off" in cli.fails(
        "users", "deactivate", "ivy")
    assert "no running cases on other versions" in cli("pack", "migrate", "karbon_assessment", "--as", "pete",
                                                        "--dry-run")
    assert "ivy is not a process owner" in cli.fails("pack", "migrate", "karbon_assessment", "--as", "ivy",
                                                      "--dry-run")
    # the registers default to the pack's compliance role
    assert json.loads(cli("export", "register", "--as", "cole", "--format", "json")) == []
    refused = cli.fails("export", "register", "--as", "sam", "--format", "json")
    assert "the compliance register is open only to the Compliance Officer role" in refused  # by its name
    assert "data_protection" not in refused


def test_a_pack_naming_an_oversight_role_it_does_not_have_is_refused(cli, monkeypatch, tmp_path):
    toml = copy_pack(tmp_path, "karbon")
    toml.write_text(toml.read_text().replace('assessment_process = "karbon_assessment"',
                                             'assessment_process = "karbon_assessment"\nadministrator_role = "sysadmin"'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "karbon")
    error = cli.fails("pack", "check")
    assert "[pack] administrator_role is 'sysadmin', which is not a role of the pack: add [roles.sysadmin] or " \
           "name the role that manages accounts" in error
