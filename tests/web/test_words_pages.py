"""People read words, not codes, on the pages (issue 18): a step's form says in words when a
follow-up is needed and carries its condition for the page to show it only when it applies (real
Chromium, in test_browser.py); a failed form has a summary at the top linking to each field, focused; the story,
the case page and the subject access PDF read the labels, dates in words on a UK clock."""
import io
import re

from tests.helpers import MARKER

PARTNER = {"partner_source": "Derbyshire Police", "complex_needs_consulted": "yes", **MARKER,
           "control_measures": "visit_in_pairs,contact_asb_manager_first",
           "complex_needs_input": "Agrees: unpredictable when unwell"}


def test_a_follow_ups_hint_is_in_words_and_its_condition_is_sent_as_data(world, as_user):
    alert_id = world.report("partner_info", customer="C2")
    task = world.open_task("anna", alert_id)["task"]
    page = as_user("anna").get(f"/tasks/{task}").get_data(as_text=True)
    assert ("(required if you answered Yes to &#39;Support sought from the Complex Needs Manager?&#39;)" in page)
    assert "required when" not in page and "==" not in page
    box = re.search(r'<div class="field" id="field-complex_needs_input" data-show-when="([^"]+)">', page)
    assert box and box.group(1) == "{&#34;field&#34;: &#34;complex_needs_consulted&#34;, &#34;is&#34;: [true]}"
    assert 'src="/static/form.js"' in page  # a file: the page's Content-Security-Policy allows no inline script


def test_a_failed_form_has_a_summary_at_the_top_linking_to_each_field(world, as_user):
    alert_id = world.report("partner_info", customer="C2")
    task = world.open_task("anna", alert_id)["task"]
    anna = as_user("anna")
    answers = {k: v for k, v in PARTNER.items() if k not in ("complex_needs_input", "evidence")}
    answers["control_measures"] = ["visit_in_pairs"]
    response = anna.post(f"/tasks/{task}/complete", answers, token_from=f"/tasks/{task}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert "2 answers need attention" in summary
    assert ('<a href="#f-evidence">Fill in &#39;Evidence considered&#39;</a>') in summary
    assert ('<a href="#f-complex_needs_input">Fill in &#39;Complex Needs Manager&#39;s input&#39;: it is needed '
            'because you answered Yes to &#39;Support sought from the Complex Needs Manager?&#39;</a>') in summary
    assert page.index('id="error-summary"') < page.index('id="task-form"')  # at the top, before the form
    assert 'id="f-evidence"' in page and 'id="f-complex_needs_input"' in page  # every link has its target


def test_the_story_and_the_case_page_read_the_labels_and_dates_in_words(world, as_user):
    alert_id = world.report("partner_info", customer="C2", now="2026-06-01T09:00")
    task = world.open_task("anna", alert_id, "2026-06-01T09:00")["task"]
    world.complete("anna", task, PARTNER, now="2026-06-02T13:05")
    page = as_user("anna").get(f"/alerts/{alert_id}").get_data(as_text=True)
    story = page[page.index('class="story"'):]
    assert "<dt>Nature of the risk (§2)</dt><dd><bdi>Physical harm</bdi></dd>" in story
    assert "<dd><bdi>Visit in pairs and Contact the ASB Manager before visiting</bdi></dd>" in story
    assert "<dt>Support sought from the Complex Needs Manager?</dt><dd><bdi>Yes</bdi></dd>" in story
    assert "physical_harm" not in story and "contact_asb_manager_first" not in story and "True" not in story
    assert "2 June 2026" in story and "2 Jun 2026" not in story
    assert "2 June 2026 at 14:05" in page  # the timeline: the moment on a UK clock (13:05 UTC in summer)


def test_the_subject_access_pdf_reads_labels_yes_no_and_moments_in_words(world, as_user):
    from pypdf import PdfReader
    alert_id = world.report("partner_info", customer="C2", now="2026-06-01T09:00")
    task = world.open_task("anna", alert_id, "2026-06-01T09:00")["task"]
    world.complete("anna", task, {**PARTNER, "complex_needs_consulted": "no", "complex_needs_input": ""},
                   now="2026-06-02T13:05")
    response = as_user("hugo").get("/compliance/subject-access/C2.pdf")
    assert response.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Nature of the risk (§2): Physical harm" in text
    assert "Support sought from the Complex Needs Manager?: No" in text
    assert "Category: Information from partners" in text
    assert "2 June 2026 at 14:05" in text
    for code in ("['physical_harm']", "physical_harm", "partner_info", "False", "True", "asb_manager"):
        assert code not in text, code
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", text)  # no timestamps to the microsecond
    # the JSON for machines keeps the codes, the labels beside them
    data = as_user("hugo").get("/compliance/subject-access/C2.json").get_json()
    done = [t for t in data["alerts"][0]["tasks"] if t["answers"]][0]
    assert done["answers"]["risk_nature"] == ["physical_harm"]
    assert {"question": "Nature of the risk (§2)", "answer": "Physical harm"} in done["answers_in_words"]
