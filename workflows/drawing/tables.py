"""Drawing rows as CSV for a spreadsheet, safely."""
import csv
import io


def to_csv(rows: list[dict], columns) -> str:
    """Rows as CSV with a header; lists joined with '; '. Cells that a spreadsheet would run as a
    formula (starting = + - @) are prefixed with a quote mark."""
    return "".join(csv_lines(rows, columns))


def csv_lines(rows, columns):
    """to_csv line by line, for an export streamed as `rows` (any iterable) are read."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells) -> str:
        writer.writerow(cells)
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text
    yield line(columns)
    for row in rows:
        yield line([_cell(row.get(c)) for c in columns])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
