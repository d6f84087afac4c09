"""CSV files of an existing register, written for the import tests."""

NOW = "2026-06-01T09:00"  # the day of the import: review dates before it are in the past
HEADER = ["customer_reference", "customer_name", "address", "postcode", "category", "instruction", "level",
          "code", "date_placed", "decided_by", "tenant_told", "not_told_reason", "next_review_date", "notes"]


def row(i, **changes) -> dict:
    """A good row for customer R<i>: placed in 2025 or 2026, next review between July and December 2026."""
    values = {
        "customer_reference": f"R{i}", "customer_name": f"Customer {i}", "address": f"{i} Station Road, Derby",
        "postcode": "DE1 2AB", "category": "rpo" if i % 2 else "Known mental health or behavioural issues",
        "instruction": "Visit in pairs", "level": "", "code": "", "date_placed": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "decided_by": "Anna Smith", "tenant_told": "yes", "not_told_reason": "",
        "next_review_date": f"{1 + i % 28:02d}/{7 + i % 6:02d}/2026", "notes": "",
    }
    values.update(changes)
    return values


def write(path, rows, header=HEADER, delimiter=",", encoding="utf-8"):
    def cell(value):
        value = str(value)
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in f'{delimiter}"\n') else value
    lines = [delimiter.join(header)] + [delimiter.join(cell(r.get(h, "")) for h in header) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
