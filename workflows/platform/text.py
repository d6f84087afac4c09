"""The one rule for text people type, whichever face it comes through (web, command line, API).

A lone surrogate cannot be encoded, so a record holding one makes every page that shows it fail;
PostgreSQL refuses NUL outright; other control characters are invisible on screen. So text must be
well-formed Unicode with no control characters but newline and tab (a carriage return becomes a
newline), and no longer than its column holds. The lengths live here, once, so every face agrees.
"""
import unicodedata

from workflows.platform.errors import FormInvalid

# lengths of the columns (workflows/platform/models.py) the text is stored in
USERNAME = 80
FULL_NAME = 200
EMAIL = 200
CUSTOMER_REFERENCE = 40
CUSTOMER_NAME = 200
ADDRESS = 300
POSTCODE = 12
CATEGORY = 40
# free text (descriptions, grounds, reasons, form answers) is stored in Text columns and in the
# audit trail; 5,000 characters is a long page, and the web form's limit
LONG_TEXT = 5000
_ALLOWED_CONTROLS = "\n\t"


def clean_text(value, *, field: str, max_length: int, label: str | None = None) -> str:
    """The text stripped, with newlines normalised; FormInvalid naming the field if it breaks the rule.
    `field` is the key the faces show the error against; `label` is how people call it."""
    name = label or field.replace("_", " ")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormInvalid({field: f"{name} must be text"})
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > max_length:  # first, so a 100k value is not read character by character
        raise FormInvalid({field: f"{name} is {len(text):,} characters long; at most {max_length:,} are allowed"})
    for position, char in enumerate(text, start=1):
        if "\ud800" <= char <= "\udfff":
            raise FormInvalid({field: f"{name} is not well-formed text (a broken character at position "
                                      f"{position}); type it again"})
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            raise FormInvalid({field: f"{name} contains a control character (U+{ord(char):04X}) at position "
                                      f"{position}; remove it"})
    return text
