"""The report form refuses bad text beside the field, as the command line and the API do."""
import pytest
from sqlalchemy import func, select

from workflows.platform.db import transaction
from workflows.platform.models import Alert


@pytest.mark.parametrize("bad, message", [("\x00", "control character (U+0000)"),
                                          ("\x1b[2J", "control character (U+001B)")])
def test_a_report_with_bad_text_is_refused_beside_the_field(world, as_user, bad, message):
    # (a browser cannot send a lone surrogate: the bytes it sends decode to U+FFFD at worst)
    sam = as_user("sam")
    response = sam.post("/report", {"customer": "C1", "category": "rpo", "description": f"He shouted{bad}"},
                        token_from="/report?customer=C1")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="description-error">description ' in page and message in page
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 0
