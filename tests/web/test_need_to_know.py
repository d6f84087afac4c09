"""Need to know, derived from the pack: every role of the demo x every alert of the demo x the
pages and the command that show an alert's story. The expected answer is worked out here from
pack.toml and the steps the demo recorded, not from a table written by hand and not by calling
the code under test: a role with a step on the alert, a role that stands in for one, a role
the pack names as a case reader, or a role its restriction admits reads it; a role outside a
restriction is told nothing exists (404); everyone else is refused (403) and shown the
instruction to staff only. The reasons for not telling a tenant reach only the roles of the
non-disclosure register."""
import pytest
from sqlalchemy import select

from tests.helpers import Browser
from workflows.platform.db import transaction
from workflows.demo import DEMO_PASSWORD, demo_username
from workflows.platform.models import Alert, AuditEvent, Case, HumanTask, Letter, NonDisclosure
from workflows.definitions.pack import load_pack


def expected_answer(pack, alert, step_roles: set[str], step_people: set[str], role: str) -> int:
    if alert.restriction:
        return 200 if role in pack.restrictions[alert.restriction].visible_to else 404
    stands_in = set(pack.roles[role].deputises_for)
    if (role in pack.registers.case_readers or role in step_roles or stands_in & step_roles
            or demo_username(role) in step_people):
        return 200
    return 403


def demo_facts(pack):
    """Every alert of the demo with the roles and people its steps went to, its first case and
    letter, its concern's description and its reasons for not telling the tenant."""
    with transaction() as db:
        facts = []
        for alert in db.scalars(select(Alert).order_by(Alert.id)):
            # a housing system step says what to enter; it is no need to know the story
            tasks = list(db.scalars(select(HumanTask).join(Case).where(Case.alert_id == alert.id,
                                                                        HumanTask.kind == "step")))
            facts.append({
                "alert": alert, "roles": {t.role for t in tasks},
                "people": {p for t in tasks for p in (t.assignee, t.completed_by) if p},
                "case": db.scalar(select(Case.id).where(Case.alert_id == alert.id).order_by(Case.id).limit(1)),
                "letter": db.scalar(select(Letter.id).where(Letter.alert_id == alert.id).limit(1)),
                "description": db.scalar(select(AuditEvent.detail).where(
                    AuditEvent.alert_id == alert.id, AuditEvent.action == "concern_reported")).get("description"),
                "not_told": [n.reason for n in db.scalars(select(NonDisclosure).where(
                    NonDisclosure.alert_id == alert.id))],
            })
            db.expunge(alert)
        return facts


@pytest.mark.parametrize("key", ["derby", "polha", "dover"])
def test_every_role_sees_every_demo_alert_as_the_pack_says(key, cli, app, monkeypatch):
    monkeypatch.setenv("ALERTFLOW_PACK", key)
    assert "demo loaded" in cli("demo")
    pack = load_pack(key)
    facts = demo_facts(pack)
    assert any(f["not_told"] for f in facts) or key != "derby", "the Derby demo has a tenant not told"
    failures = []
    seen = {200: 0, 403: 0, 404: 0}
    for role in pack.roles:
        browser = Browser(app)
        browser.sign_in(demo_username(role), password=DEMO_PASSWORD)
        listed = browser.get("/alerts?status=all").get_data(as_text=True)
        for f in facts:
            alert, want = f["alert"], expected_answer(pack, f["alert"], f["roles"], f["people"], role)
            seen[want] += 1
            where = f"{role} on alert {alert.id} ({alert.category}, {alert.status})"
            page = browser.get(f"/alerts/{alert.id}")
            body = page.get_data(as_text=True)
            if page.status_code != want:
                failures.append(f"GET /alerts/{alert.id} as {where}: {page.status_code}, the pack says {want}")
            if (f'href="/alerts/{alert.id}"' in listed) != (want == 200):
                failures.append(f"/alerts lists alert {alert.id} to {where}: {want != 200}")
            if want != 200 and f["description"] in body:
                failures.append(f"the refusal shows {where} the concern reported")
            if want == 403 and alert.status == "active" and alert.marker_text not in body:
                failures.append(f"the refusal does not show {where} the instruction to staff")
            if want == 200 and role not in pack.registers.non_disclosure_visible_to:
                failures += [f"{where} reads the reason for not telling: {r}" for r in f["not_told"] if r in body]
            for url in (f"/cases/{f['case']}/diagram.xml", f"/letters/{f['letter']}.pdf" if f["letter"] else None):
                if url and (got := browser.get(url).status_code) != want:
                    failures.append(f"GET {url} as {where}: {got}, the pack says {want}")
            result = cli.runner.invoke(cli_main(), ["alerts", "show", str(alert.id), "--as", demo_username(role),
                                                    "--json"])
            if (result.exit_code == 0) != (want == 200):
                failures.append(f"alertflow alerts show {alert.id} as {where}: exit {result.exit_code}")
            elif want == 403 and "no need to know" not in result.stderr:
                failures.append(f"alertflow alerts show as {where} says: {result.stderr.strip()}")
            elif want == 404 and f"there is no alert {alert.id}" not in result.stderr:
                failures.append(f"alertflow alerts show as {where} says: {result.stderr.strip()}")
    assert not failures, "\n".join(failures)
    assert seen[200] and seen[403], seen  # the demo exercises both answers


def cli_main():
    from cli.main import main
    return main
