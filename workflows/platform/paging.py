"""One page of a long list, worked out in SQL: the rows of the page (LIMIT/OFFSET) and the
total (a COUNT over the same conditions), for the inbox and the register, on the web and the
command line alike. A page asked for past the end shows the last one. A list whose rows are costly
to build pages its keys alone and then builds the page's rows (a deferred join: `rows_of`)."""
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.platform import wording

PER_PAGE = 50
MOST_PER_PAGE = 500


@dataclass
class Page:
    rows: list
    total: int
    number: int  # 1 for the first page
    per_page: int

    @property
    def first(self) -> int:
        """The position of the page's first row (1-based), 0 on an empty list."""
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def summary(self) -> str:
        """ "1–50 of 312" """
        return wording.page_range(self.first, self.last, self.total)


def page_number(text, *, what: str = "page") -> int:
    """A page number as typed (a link, --page): a whole number from 1, or a clear refusal."""
    from workflows.platform.errors import WorkflowError
    try:
        number = int(str(text).strip()) if text not in (None, "") else 1
    except ValueError:
        raise WorkflowError(f"the {what} must be a whole number from 1, not '{text}'") from None
    if number < 1:
        raise WorkflowError(f"the {what} must be a whole number from 1, not '{text}'")
    return number


def fetch(db: Session, query, *, number: int = 1, per_page: int = PER_PAGE, total: int | None = None,
          rows_of=None, count_with_keys: bool = False) -> Page:
    """The `number`th page of `query` (already ordered, with a unique last key so pages do not
    overlap) and its total: `total` where the caller already knows it (the inbox's header counts
    an unfiltered list more cheaply), else the same query's rows counted.

    With `rows_of`, a deferred join: `query` selects the rows' keys alone (what an index can page
    without reading the tables: a deep page skips its thousands of rows there), and `rows_of(keys)`
    is the query of the page's own rows, whose first column is the key; they come back in the
    order of the keys. With `count_with_keys` too, the total is counted in the statement that finds
    the page's keys (a window count), for lists whose few rows lie scattered among many: one pass
    over them, not a count and then a walk as long to the page (a page past the end is counted
    first, then shown as the last)."""
    per_page = max(1, min(per_page, MOST_PER_PAGE))
    if total is None and rows_of is not None and count_with_keys:
        found = db.execute(query.add_columns(func.count().over())
                           .limit(per_page).offset((max(1, number) - 1) * per_page)).all()
        if found:
            return _built(db, [row[0] for row in found], rows_of, found[0][-1], max(1, number), per_page)
    if total is None:
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    last_page = max(1, -(-total // per_page))
    number = min(max(1, number), last_page)
    paged = query.limit(per_page).offset((number - 1) * per_page)
    if rows_of is None:
        return Page(list(db.execute(paged)), total, number, per_page)
    return _built(db, list(db.scalars(paged)), rows_of, total, number, per_page)


def _built(db: Session, keys: list, rows_of, total: int, number: int, per_page: int) -> Page:
    """The page whose rows' keys are `keys`, its rows (rows_of) in the keys' order."""
    place = {key: n for n, key in enumerate(keys)}
    rows = sorted(db.execute(rows_of(keys)), key=lambda row: place[row[0]]) if keys else []
    return Page(rows, total, number, per_page)
