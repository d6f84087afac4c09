"""Bad input on the staff pages: a clear message beside the field and nothing saved."""
import pytest
from sqlalchemy import func, select

from workflows.platform.db import transaction
from workflows.platform.models import Alert, Letter


def count(model):
    with transaction() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_a_report_missing_its_answers_says_so_beside_each_field(world, as_user):
    sam = as_user("sam")
    response = sam.post("/report?q=Smith", {"category": "", "description": " "}, token_from="/report?q=Smith")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="customer-error">Choose the customer' in page
    assert 'id="category-error">Choose the kind of concern' in page
    assert 'id="description-error">Describe what happened' in page
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert page.index('id="error-summary"') < page.index('id="report-form"')  # at the top, before the form
    assert "3 answers need attention" in summary
    assert '<a href="#customer-0">Choose the customer or the property (search above to find them)</a>' in summary  # its first choice
    assert '<a href="#category">Choose the kind of concern</a>' in summary
    assert '<a href="#description">Describe what happened</a>' in summary
    assert 'id="customer-0"' in page and 'id="category"' in page and 'id="description"' in page
    nobody_found = sam.post("/report", {"category": "rpo", "description": "Shouted"}, token_from="/report")
    assert '<a href="#q">Choose the customer or the property (search above to find them)</a>' in nobody_found.get_data(as_text=True)
    assert count(Alert) == 0
    response = sam.post("/report", {"customer": "C1", "category": "rpo", "description": "He threatened a caretaker"},
                        token_from="/report?customer=C1")
    assert response.status_code == 302 and count(Alert) == 1


def test_a_letter_delivery_with_bad_answers_is_refused_beside_the_fields(world, as_user):
    marker = {"place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
              "inform_tenant": "yes", "risk_source": "Police", "risk_nature": "physical_harm", "evidence": "Log",
              "likelihood": "low", "impact": "low", "decision_reason": "Risk", "assessment_method": "Talked"}
    alert = world.report("near_miss")
    world.complete("helen", world.open_task("helen", alert)["task"], marker)
    world.complete("tina", world.open_task("tina", alert)["task"], {"housing_system_reference": "RT-9"})
    with transaction() as db:
        letter = db.scalar(select(Letter.id))
    tina = as_user("tina")
    response = tina.post(f"/letters/{letter}/delivery", {"method": "pigeon", "delivered_at": "2999-01-01T10:00"},
                         token_from=f"/alerts/{alert}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (f'id="letter{letter}_method-error">Choose how the letter was delivered: first class post, recorded '
            f'delivery, hand delivered, email or given in person at the office') in page
    assert f'id="letter{letter}_delivered_at-error">1 January 2999 at 10:00 is in the future: the delivery of ' \
           f'letter {letter}' in page
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert page.index('id="error-summary"') < page.index('class="letter"')  # at the top of the page
    assert "2 answers need attention" in summary
    assert f'<a href="#letter{letter}_method">' in summary and f'<a href="#letter{letter}_delivered_at">' in summary
    with transaction() as db:
        title = db.get(Letter, letter).title.replace("'", "&#39;")
    # each message names its letter once: the date's message names it already, the method's is given it
    assert f'<a href="#letter{letter}_method">{title}: Choose how the letter was delivered' in summary
    assert f'<a href="#letter{letter}_delivered_at">1 January 2999 at 10:00 is in the future' in summary
    assert f'value="2999-01-01T10:00"' in page  # what was typed is shown again, to mend
    empty = tina.post(f"/letters/{letter}/delivery", {"method": "email", "delivered_at": ""}, token_from=f"/alerts/{alert}")
    page = empty.get_data(as_text=True)
    assert f'id="letter{letter}_delivered_at-error">Give the date and time the letter was delivered</p>' in page
    assert "<option selected>email</option>" in page and "1 answer needs attention" in page
    with transaction() as db:
        assert db.get(Letter, letter).delivered_at is None


@pytest.fixture
def letter_needing_a_field(pack_dir, world):
    """Derby's first letter edited, after its diagrams were deployed (the check would refuse them
    now), to say $incident_number, which no Derby case records."""
    from tests.helpers import settings_edited_by_hand
    letter = pack_dir / "letters" / "marker_placed.txt"
    letter.write_text(letter.read_text() + "\nIncident number: $incident_number\n")
    settings_edited_by_hand()  # the check would refuse it: put in the database by hand


def test_a_step_that_fails_inside_the_engine_shows_its_message_on_the_task_page(world, letter_needing_a_field,
                                                                               as_user):
    """A letter template naming a field the case lacks stops the step (StepFailed): the manager
    sees the engine's message on the task page, never a server error, and nothing is saved."""
    from tests.helpers import RISK
    alert_id = world.report("near_miss", customer="C3")
    task = world.open_task("helen", alert_id)["task"]
    helen = as_user("helen")
    response = helen.post(f"/tasks/{task}/complete", {
        "assessment_method": "Talked to the officer", "place_marker": "true", "marker_text": "Visit in pairs",
        "control_measures": "visit_in_pairs", "inform_tenant": "true", **RISK}, token_from=f"/tasks/{task}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "template &#39;marker_placed&#39; needs $incident_number, which this case does not have" in page
    assert world.open_task("helen", alert_id)["task"] == task  # nothing of the step was saved
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Letter)) == 0


def test_the_reporter_of_a_concern_is_refused_as_its_decider_on_the_page(world, as_user):
    from workflows.platform.models import Case, HumanTask
    anna = as_user("anna")
    response = anna.post("/report", {"customer": "C1", "category": "rpo", "description": "He threatened me",
                                     "staff_involved": "nobody"}, token_from="/report?customer=C1")
    assert response.status_code == 422 and count(Alert) == 0
    assert 'id="staff_involved-error">there is no active user &#39;nobody&#39;' in response.get_data(as_text=True)
    response = anna.post("/report", {"customer": "C1", "category": "rpo", "description": "He threatened me",
                                     "staff_involved": "tina"}, token_from="/report?customer=C1")
    assert response.status_code == 302
    with transaction() as db:
        task_id, alert_id = db.execute(select(HumanTask.id, Case.alert_id).join(Case)).one()
    inbox = anna.get("/inbox").get_data(as_text=True)
    assert f"/tasks/{task_id}" not in inbox and "0 waiting for your roles" in inbox  # nor in the counts
    alex = as_user("alex")
    inbox = alex.get("/inbox").get_data(as_text=True)
    assert f"/tasks/{task_id}" in inbox and "1 waiting for your roles" in inbox
    assert "<dt>Staff involved</dt><dd>tina" in alex.get(f"/alerts/{alert_id}").get_data(as_text=True)

    response = anna.post(f"/tasks/{task_id}/complete", {"decision_reason": "x"}, token_from=f"/tasks/{task_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "anna reported this concern, and nobody decides on their own report; another ASB Manager must take it" in page
    helen = as_user("helen")
    page = helen.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'value="alex"' in page and 'value="anna"' not in page  # not offered for reassignment
    response = helen.post(f"/tasks/{task_id}/reassign", {"assignee": "anna"}, token_from=f"/tasks/{task_id}")
    assert response.status_code == 403
    assert "cannot be given to anna: anna reported this concern" in response.get_data(as_text=True)
    with transaction() as db:
        assert db.get(HumanTask, task_id).assignee is None


def test_the_housing_system_step_says_what_to_enter_and_needs_the_reference(world, as_user):
    """The ASB team's red triangle step on the task page: the instruction to enter (never the
    reasons), the one field beside its error, and done only with the reference."""
    from tests.helpers import RISK
    from workflows.platform.models import HumanTask
    alert = world.report("near_miss")
    world.complete("helen", world.open_task("helen", alert)["task"], {
        "assessment_method": "Talked", "place_marker": "yes", "marker_text": "Phone first; visit in pairs",
        "control_measures": "visit_in_pairs", "inform_tenant": "yes", **RISK})
    task = world.open_task("tina", alert)["task"]
    tina = as_user("tina")
    page = tina.get(f"/tasks/{task}").get_data(as_text=True)
    assert "Update the red triangle: place the marker" in page
    assert 'id="instructions"' in page and "Instruction to staff: Phone first; visit in pairs" in page
    response = tina.post(f"/tasks/{task}/complete", {"housing_system_reference": " "}, token_from=f"/tasks/{task}")
    assert response.status_code == 422
    assert 'id="housing_system_reference-error"' in response.get_data(as_text=True)
    response = tina.post(f"/tasks/{task}/complete", {"housing_system_reference": "RT-5"}, token_from=f"/tasks/{task}")
    assert response.status_code == 302
    with transaction() as db:
        row = db.get(HumanTask, task)
        assert (row.status, row.completed_by, row.form_data) == ("completed", "tina", {"housing_system_reference": "RT-5"})


def test_the_report_form_offers_to_link_a_concern_to_the_marker_already_on_the_customer(world, as_user):
    from tests.helpers import MARKER
    alert_id = world.report("rpo", now="2026-03-02T09:00")
    world.complete("anna", world.open_task("anna", alert_id)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Assault", "scheduled_offender": "no", **MARKER})
    sam = as_user("sam")
    concern = {"customer": "C1", "category": "rpo", "description": "He threatened the caretaker again"}
    response = sam.post("/report", concern, token_from="/report?customer=C1")
    page = response.get_data(as_text=True)
    assert response.status_code == 422  # asked first, nothing reported yet
    assert "They already have a marker" in page and f"Yes: link it to the marker “Visit in pairs” (alert {alert_id})" in page
    assert "Choose whether to link this concern to the marker already on them" in page
    assert len(world.cli.json("alerts", "list", "--as", "hugo")) == 1
    response = sam.post("/report", {**concern, "link_to": str(alert_id)}, token_from="/report?customer=C1")
    assert response.status_code == 302
    assert f"linked to the marker on alert {alert_id}" in sam.get("/report").get_data(as_text=True)
    assert len(world.cli.json("alerts", "list", "--as", "hugo")) == 1  # no second marker
    task = world.open_task("anna", alert_id)
    page = as_user("anna").get(f"/tasks/{task['task']}").get_data(as_text=True)
    assert "The marker this concern is linked to" in page and "He threatened the caretaker again" in page
