"""The expression evaluator: what process owners may write, and what can never run."""
import pytest

from workflows.expressions import ExpressionError, evaluate, names_used

DATA = {"category": "rpo", "level": 2, "measures": ["visit_in_pairs"], "told": False, "marker_code": "DNV"}


@pytest.mark.parametrize("expression, expected", [
    ("category == 'rpo'", True),
    ("category in ['rpo', 'partner_info']", True),
    ("level >= 2 and not told", True),
    ("'visit_in_pairs' in measures", True),
    ("len(measures) == 1", True),
    ("'P1M' if marker_code == 'DNV' else 'P6M'", "P1M"),
    ("lower('ABC')", "abc"),
    ("level * 3 + 1", 7),
    ("told or category", "rpo"),
    ("1 < level < 3", True),
])
def test_allowed_expressions(expression, expected):
    assert evaluate(expression, DATA) == expected


@pytest.mark.parametrize("expression", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "open('/etc/passwd')",
    "eval('1')",
    "getattr(category, 'upper')",
    "category.upper()",
    "[c for c in category]",
    "(lambda: 1)()",
    "__builtins__",
    "_secret",
    "'a' * 10",
    "9 ** 9",
    "x := 1",
    "category[::-1]",
])
def test_forbidden_expressions_raise(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, {**DATA, "_secret": 1, "x": 1})


def test_unknown_names_raise_naming_them():
    with pytest.raises(ExpressionError, match="'colour' is not in the case data"):
        evaluate("colour == 'red'", DATA)


def test_names_used_excludes_functions():
    assert names_used("len(measures) > 0 and category == 'rpo'") == {"measures", "category"}
