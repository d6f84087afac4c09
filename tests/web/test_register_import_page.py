"""The upload page for importing the existing register (issue 19): the same dry-run report as the
command line, then the import, for the roles that may import."""
import io

from tests.helpers import csrf_token
from tests.register_csv import NOW, row, write
from workflows.platform import clock


def upload(browser, path, action, good_rows_only=False):
    """Post the file from the page's form, on the day of the import (each `cli` call resets the clock)."""
    clock.set_now(clock.parse_moment(NOW))
    page = browser.get("/admin/import").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "action": action,
            "file": (io.BytesIO(path.read_bytes()), path.name)}
    if good_rows_only:
        data["good_rows_only"] = "yes"
    return browser.client.post("/admin/import", data=data, content_type="multipart/form-data")


def test_the_upload_page_reports_each_rows_problems_then_imports_the_good_rows(world, as_user, cli, tmp_path):
    path = write(tmp_path / "register.csv", [row(1), row(2, category="dangerous dog"), row(3, postcode="")])
    ada = as_user("ada")

    checked = upload(ada, path, "check")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "3 rows (columns separated by commas):\n  1 good, 2 with problems (2 problems)." in html
    assert "<td data-label=\"Row\">3</td><td data-label=\"Column\">category</td>" in html
    assert "<td data-label=\"Row\">4</td><td data-label=\"Column\">postcode</td>" in html
    assert "Nothing has been imported." in html

    refused = upload(ada, path, "import")
    assert refused.status_code == 422
    assert "2 of 3 rows have problems, so nothing was imported" in refused.get_data(as_text=True)
    assert "no customer matches" in cli("check", "R1", "--as", "sam")

    imported = upload(ada, path, "import", good_rows_only=True)
    assert "Imported 1 marker from register.csv; 2 rows with problems left out." in imported.get_data(as_text=True)
    assert "R1  Customer 1, 1 Station Road, Derby: MARKER: Visit in pairs" in cli("check", "R1", "--as", "sam")


def test_the_upload_page_refuses_a_file_that_is_not_utf8_and_is_only_for_those_who_may_import(world, as_user, tmp_path):
    path = write(tmp_path / "latin.csv", [row(1, customer_name="Zoë")], encoding="cp1252")
    refused = upload(as_user("ada"), path, "check")
    assert refused.status_code == 422 and "latin.csv is not UTF-8 text" in refused.get_data(as_text=True)
    assert as_user("tina").get("/admin/import").status_code == 403
    assert "Import</a>" in as_user("ada").get("/inbox").get_data(as_text=True)
    assert "Import</a>" not in as_user("tina").get("/inbox").get_data(as_text=True)
