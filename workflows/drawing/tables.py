"""Drawing rows as CSV for a spreadsheet, safely."""
import csv
import io


def to_csv(rows: list[dict], columns) -> str:
    """Rows as CSV with a header; lists joined with '; '. Cells that a spreadsheet would run as a
    formula (starting = + - @) are prefixed with a quote mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
