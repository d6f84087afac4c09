"""Safe evaluation of the expressions process owners write in BPMN.

Gateway conditions, timer expressions and "required when" rules come from user-edited
files, so they are never handed to eval(). An expression is parsed into a Python AST and
only an allow-listed set of nodes is walked: literals, names of task data, boolean and
comparison operators, arithmetic, subscripts, and a few pure functions. There are no
attributes at all, so nothing can climb to `__class__` or `__subclasses__`.

Sizes are bounded too, so an expression cannot exhaust memory or the stack of the process that
checks or runs it: the length of the text, how deeply it nests, its constants (numbers, and no
bytes), no repeating of text or lists with `*` and no `**`, and the length of every value it builds.
"""
import ast
import operator
from functools import lru_cache
from datetime import date, datetime, time, timezone

from workflows.platform import clock
from workflows.platform.errors import WorkflowError

def _day(value) -> date:
    if isinstance(value, datetime):
        return clock.local_day(value)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None


def _shifted(value, duration: str, sign: int) -> str:
    """A date (ISO text, as forms and marker fields hold them) moved by a calendar duration."""
    if clock.working_days(str(duration)) is not None:
        raise ValueError(f"'{duration}' counts working days, which an expression cannot: use a timer or dueIn")
    start = datetime.combine(_day(value), time(12), tzinfo=timezone.utc)  # noon: a day, whatever the clocks do
    moved = clock.duration_after(start, str(duration)) if sign > 0 else clock.duration_before(start, str(duration))
    return moved.date().isoformat()


# dates are ISO text ('2027-01-06'), so they compare in order; the date functions give ISO text too
FUNCTIONS = {
    "len": len, "min": min, "max": max, "abs": abs, "int": int, "float": float,
    "str": str, "bool": bool, "any": any, "all": all, "sorted": sorted,
    "lower": lambda s: str(s).lower(), "upper": lambda s: str(s).upper(),
    "today": lambda: clock.local_day(clock.now()).isoformat(),  # the organisation's day (Europe/London)
    "date_after": lambda day, duration: _shifted(day, duration, 1),  # date_after(placed_on, 'P36M')
    "date_before": lambda day, duration: _shifted(day, duration, -1),
}

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_UNARY = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}
_MAX_LENGTH = 2000  # a condition is a line or two; anything longer is a mistake or an attack
_MAX_POWERLESS_CONSTANT = 10**12  # keeps "9" * 10**9 style memory bombs out
# Python's own limit is about 1000 frames and the evaluator takes two a level: refuse well before
_MAX_DEPTH = 40
_MAX_RESULT = 10_000  # the longest text, list or set an expression may build
# what * may never multiply (at check time, when it is written out)
_SEQUENCES = (ast.List, ast.Tuple, ast.Set, ast.Dict)
_SEQUENCE_FUNCTIONS = ("str", "lower", "upper", "sorted")


class ExpressionError(WorkflowError, ValueError):  # ValueError too: parsers raise and catch it
    """An expression that is not allowed or cannot be evaluated; the message says why."""


def parse(expression: str) -> ast.Expression:
    """Parse an expression and check every node against the allow-list."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("the expression is empty")
    if len(expression) > _MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {_MAX_LENGTH} characters")
    return _parse_checked(expression)


@lru_cache(maxsize=4096)
def _parse_checked(expression: str) -> ast.Expression:
    """parse's work, once per expression: a diagram's few conditions are read at every step, and
    nothing changes a parsed tree (an expression refused is refused again each time: errors are not kept)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"syntax error in '{expression}': {err.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"the expression is nested more than {_MAX_DEPTH} levels deep") from None
    _check_depth(tree)
    for node in ast.walk(tree):
        _check_node(node, expression)
    return tree


def _check_depth(tree):
    """Measured without recursion, so a deep expression is refused, not a crash."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {_MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def names_used(expression: str) -> set[str]:
    """The task-data names an expression reads (function names excluded)."""
    tree = parse(expression)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called


def evaluate(expression: str, data: dict):
    """Evaluate an allow-listed expression against task data."""
    tree = parse(expression)
    try:
        return _Evaluator(data).visit(tree.body)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as err:  # e.g. -'text', {[1]}
        raise ExpressionError(f"'{expression}' cannot be evaluated: {err}") from None


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare,
    ast.IfExp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Set,
    ast.Dict, ast.Subscript, *_BINARY, *_COMPARE, *_UNARY,
)


def _check_node(node, expression):
    if not isinstance(node, _ALLOWED):
        what = type(node).__name__
        if isinstance(node, ast.Attribute):
            what = f"attribute access '.{node.attr}'"
        elif isinstance(node, ast.Pow):
            what = "the power operator"
        raise ExpressionError(f"{what} is not allowed in '{expression}'")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(f"the name '{node.id}' is not allowed in '{expression}'")
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            raise ExpressionError(f"attribute access '.{node.func.attr}' is not allowed in '{expression}'")
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = getattr(node.func, "id", ast.unparse(node.func))
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"the function '{name}' is not allowed in '{expression}' (allowed: {allowed})")
        if node.keywords:
            raise ExpressionError(f"keyword arguments are not allowed in '{expression}'")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, type(None))):
        raise ExpressionError(f"the constant {node.value!r:.40} is not allowed in '{expression}' "
                              f"(use text, numbers, True, False or None)")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and abs(node.value) > _MAX_POWERLESS_CONSTANT:
        raise ExpressionError(f"the number {node.value} is too large in '{expression}'")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) \
            and (_is_sequence(node.left) or _is_sequence(node.right)):
        raise ExpressionError(f"repeating text or lists with * is not allowed in '{expression}'")


def _is_sequence(node) -> bool:
    return isinstance(node, _SEQUENCES) or isinstance(node, ast.Constant) and isinstance(node.value, str) \
        or isinstance(node, ast.Call) and getattr(node.func, "id", None) in _SEQUENCE_FUNCTIONS


def _bounded(value):
    """Refuse a value too long to be a sensible part of a condition (text + text, say)."""
    if isinstance(value, (str, list, tuple, set, dict)) and len(value) > _MAX_RESULT:
        raise ExpressionError(f"the expression builds a value of {len(value)} items or characters "
                              f"(at most {_MAX_RESULT})")
    return value


class _Evaluator(ast.NodeVisitor):
    def __init__(self, data):
        self.data = data

    def visit_Constant(self, node):
        return node.value

    def visit_Name(self, node):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id not in self.data:
            raise ExpressionError(f"'{node.id}' is not in the case data")
        return self.data[node.id]

    def visit_BoolOp(self, node):
        if isinstance(node.op, ast.And):
            result = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        # checked before multiplying, so text * 10**12 from case data is never built
        if isinstance(node.op, ast.Mult) and not all(isinstance(v, (int, float)) for v in (left, right)):
            raise ExpressionError("repeating text or lists with * is not allowed")
        try:
            return _bounded(_BINARY[type(node.op)](left, right))
        except (TypeError, ZeroDivisionError) as err:
            raise ExpressionError(str(err)) from None

    def visit_UnaryOp(self, node):
        return _UNARY[type(node.op)](self.visit(node.operand))

    def visit_Compare(self, node):
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.visit(comparator)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as err:
                raise ExpressionError(str(err)) from None
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node):
        try:
            return _bounded(FUNCTIONS[node.func.id](*[self.visit(a) for a in node.args]))
        except ExpressionError:
            raise
        except (TypeError, ValueError, OverflowError) as err:
            raise ExpressionError(f"{node.func.id}(): {err}") from None

    def visit_List(self, node):
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def visit_Set(self, node):
        return {self.visit(e) for e in node.elts}

    def visit_Dict(self, node):
        return {self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values)}

    def visit_Subscript(self, node):
        container, key = self.visit(node.value), self.visit(node.slice)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as err:
            raise ExpressionError(f"cannot look up {key!r}: {err}") from None

    def generic_visit(self, node):  # pragma: no cover - parse() rejects these first
        raise ExpressionError(f"{type(node).__name__} is not allowed")
