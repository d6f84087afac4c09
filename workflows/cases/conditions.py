"""A form field's `requiredWhen` for the person filling the form: in words from the other fields'
labels ("if you answered Yes to 'Complex needs team consulted'"), and, when it is simple enough,
as data the page evaluates (webapp/static/form_conditions.js) to show a follow-up question only
when it applies. The server still judges every answer (forms.validate); a condition that is not
simple is not sent, and its field is always shown.

Simple: a field of the same form compared with a literal (`==`, `!=`, `in [...]`, `not in`), a
literal `in` a field that takes several options, a field alone (answered/Yes), combined with
`and`, `or`, `not`. Data: {"all": [...]}, {"any": [...]}, {"not": c},
{"field": id, "is": [values]}, {"field": id, "is_not": [values]}, {"field": id, "has": value},
{"field": id, "set": true}.
"""
import ast

from workflows.definitions import expressions
from workflows.platform import wording


class _NotSimple(Exception):
    pass


def parsed(expression: str | None, field_ids) -> dict | None:
    """The condition as data over the form's own fields, or None when it is not simple."""
    if not expression:
        return None
    try:
        tree = expressions.parse(expression)
        return _node(tree.body, set(field_ids))
    except (_NotSimple, expressions.ExpressionError):
        return None


def _literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    raise _NotSimple


def _node(node, ids: set) -> dict:
    if isinstance(node, ast.BoolOp):
        return {"all" if isinstance(node.op, ast.And) else "any": [_node(v, ids) for v in node.values]}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return {"not": _node(node.operand, ids)}
    if isinstance(node, ast.Name) and node.id in ids:
        return {"field": node.id, "set": True}
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(left, ast.Name) and left.id in ids:
            if isinstance(op, (ast.Eq, ast.Is)):
                return {"field": left.id, "is": [_literal(right)]}
            if isinstance(op, (ast.NotEq, ast.IsNot)):
                return {"field": left.id, "is_not": [_literal(right)]}
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                values = [_literal(e) for e in right.elts]
                return {"field": left.id, "is" if isinstance(op, ast.In) else "is_not": values}
        if isinstance(right, ast.Name) and right.id in ids and isinstance(op, (ast.In, ast.NotIn)):
            has = {"field": right.id, "has": _literal(left)}
            return has if isinstance(op, ast.In) else {"not": has}
    raise _NotSimple


def in_words(condition: dict | None, fields: dict) -> str | None:
    """The condition as a manager would say it, from the fields' labels; None when it cannot be
    said generically. `fields` maps field ids to forms.Field."""
    if condition is None:
        return None
    if "all" in condition:
        return " and ".join(in_words(c, fields) for c in condition["all"])
    if "any" in condition:
        return " or ".join(in_words(c, fields) for c in condition["any"])
    if "not" in condition:
        inner = condition["not"]
        if "field" in inner and "has" in inner:
            return f"you did not tick {_option(fields[inner['field']], inner['has'])} for {_label(fields[inner['field']])}"
        if "field" in inner and "set" in inner:
            return _unset(fields[inner["field"]])
        return f"it is not so that {in_words(inner, fields)}"
    field = fields[condition["field"]]
    if "set" in condition:
        return (f"you answered Yes to {_label(field)}" if field.type == "boolean"
                else f"you answered {_label(field)}")
    if "has" in condition:
        return f"you ticked {_option(field, condition['has'])} for {_label(field)}"
    if "is" in condition:
        values = condition["is"]
        if values == [None]:
            return f"you left {_label(field)} unanswered"
        if field.type == "boolean" or all(isinstance(v, bool) for v in values):
            return " or ".join(f"you answered {wording.yes_no(v)} to {_label(field)}" for v in values)
        return f"you chose {' or '.join(_option(field, v) for v in values)} for {_label(field)}"
    values = condition["is_not"]
    if values == [None]:
        return f"you answered {_label(field)}"
    if field.type == "boolean" or all(isinstance(v, bool) for v in values):
        return " and ".join(f"you did not answer {wording.yes_no(v)} to {_label(field)}" for v in values)
    return f"you did not choose {' or '.join(_option(field, v) for v in values)} for {_label(field)}"


def _unset(field) -> str:
    return f"you did not answer Yes to {_label(field)}" if field.type == "boolean" else f"you left {_label(field)} empty"


def _label(field) -> str:
    return f"'{field.label or field.id}'"


def _option(field, value) -> str:
    names = dict(field.options)
    return f"'{names.get(value, value)}'"
