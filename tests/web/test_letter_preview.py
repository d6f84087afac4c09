"""A preview of the tenant's letter on the task page, before the step that issues it is completed:
drawn from the answers typed so far, nothing saved, and only for those who need to know."""
from tests.helpers import RISK


def test_the_task_page_previews_the_letter_from_the_answers_typed_and_saves_nothing(world, as_user):
    alert_id = world.report("rpo")
    task = world.open_task("anna", alert_id)
    anna = as_user("anna")
    page = anna.get(f"/tasks/{task['task']}").get_data(as_text=True)
    assert "Preview the letter" in page
    answers = {**RISK, "place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs"}
    response = anna.post(f"/tasks/{task['task']}/letter-preview", answers, token_from=f"/tasks/{task['task']}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    assert "Nothing has been saved" in html and "Dear John Smith," in html
    # the answers typed, not yet saved, read as the letter will read them once the marker is placed
    assert "Real risk to staff" in html and "&#34;Visit in pairs&#34;" in html and "This means: Visit in pairs." in html
    assert "Derby Homes" in html and "839 London Road" in html and "DE24 8UZ" in html
    assert html.index("John Smith</bdi>") < html.index("Dear John Smith,")
    # the decision's letter says how to appeal, and the manager completing the step signs it
    assert "How to appeal" in html and "Anna" in html.split("Yours sincerely,")[1]
    assert "ASB Manager, Derby Homes" in html.split("Yours sincerely,")[1]
    # nothing saved: the step still waits, and no letter was issued
    assert world.open_task("anna", alert_id)["task"] == task["task"]
    assert world.alert(alert_id)["letters"] == []
    # need to know: staff with no step on the alert may not read what the letter would tell
    assert as_user("sam").post(f"/tasks/{task['task']}/letter-preview", answers).status_code in (403, 404)
