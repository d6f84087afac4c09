"""The expression evaluator: what process owners may write, and what can never run."""
import pytest

from workflows.definitions.expressions import ExpressionError, evaluate, names_used

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


@pytest.mark.parametrize("expression, message", [
    ("b'x' * 500000000", "the constant b'x' is not allowed"),
    ("'x' * 1000000000000", "repeating text or lists with * is not allowed"),
    ("[0] * 1000000000000", "repeating text or lists with * is not allowed"),
    ("lower('x') * 1000000000000", "repeating text or lists with * is not allowed"),
    ("not " * 450 + "True", "nested more than 40 levels deep"),
    ("-" * 1900 + "1", "nested more than 40 levels deep"),
    ("-'text'", "cannot be evaluated"),
    ("{[1]: 2}", "cannot be evaluated"),
])
def test_expressions_that_would_exhaust_memory_or_the_stack_are_refused(expression, message):
    with pytest.raises(ExpressionError) as refused:
        evaluate(expression, DATA)
    assert message in str(refused.value)


def test_case_data_is_never_repeated_and_built_values_are_bounded():
    with pytest.raises(ExpressionError, match="repeating text or lists with \\* is not allowed"):
        evaluate("category * 1000000000000", DATA)
    with pytest.raises(ExpressionError, match="builds a value of 12000 items or characters"):
        evaluate("text + text", {"text": "x" * 6000})
