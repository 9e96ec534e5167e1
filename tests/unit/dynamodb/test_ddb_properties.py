"""Property: on random well-typed items and random well-formed expressions the evaluator
raises nothing but DynamoValidationError, and updates produce valid canonical items."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serverless_lab.cloud.dynamodb.logic import DynamoValidationError, ExpressionContext, validate_value
from serverless_lab.cloud.dynamodb.logic.types import check_number, format_number

NAMES = ["a", "b", "c", "d", "e"]
PLACEHOLDER_NAMES = {f"#n{i}": name for i, name in enumerate(NAMES)}
VALUE_KEYS = [f":v{i}" for i in range(6)]


@st.composite
def numbers(draw: st.DrawFn) -> str:
    mantissa = draw(st.integers(min_value=0, max_value=10**38 - 1))
    if not mantissa:
        return "0"
    digits = tuple(int(c) for c in str(mantissa))
    exponent = draw(st.integers(min_value=-130 - len(digits) + 1, max_value=125 - len(digits) + 1))
    return format_number(check_number(Decimal((draw(st.integers(0, 1)), digits, exponent))))


_small_numbers = st.integers(-1000, 1000).map(str)
_number_text = st.one_of(_small_numbers, numbers())
_scalars = st.one_of(
    st.text(max_size=6).map(lambda s: {"S": s}),
    _number_text.map(lambda n: {"N": n}),
    st.binary(max_size=4).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True).map(lambda v: {"SS": v}),
    st.lists(_small_numbers, min_size=1, max_size=3, unique_by=Decimal).map(lambda v: {"NS": v}),
    st.lists(st.binary(max_size=3), min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
)
attribute_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda v: {"L": v}),
        st.dictionaries(st.sampled_from(NAMES), children, max_size=3).map(lambda v: {"M": v}),
    ),
    max_leaves=8,
)
items = st.dictionaries(st.sampled_from(NAMES), attribute_values, max_size=5)
value_maps = st.fixed_dictionaries({k: attribute_values for k in VALUE_KEYS})

_name = st.one_of(st.sampled_from(NAMES), st.sampled_from(sorted(PLACEHOLDER_NAMES)))
_step = st.one_of(_name.map(lambda n: "." + n), st.integers(0, 3).map(lambda i: f"[{i}]"))
paths = st.tuples(_name, st.lists(_step, max_size=3)).map(lambda t: t[0] + "".join(t[1]))
values = st.sampled_from(VALUE_KEYS)
operands = st.one_of(paths, values, paths.map(lambda p: f"size({p})"))
comparators = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])


def _conditions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"{t[0]} AND {t[1]}"),
        st.tuples(children, children).map(lambda t: f"({t[0]}) OR ({t[1]})"),
        children.map(lambda c: f"NOT {c}"),
        children.map(lambda c: f"({c})"),
    )


_atoms = st.one_of(
    st.tuples(operands, comparators, operands).map(" ".join),
    st.tuples(operands, operands, operands).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    st.tuples(operands, st.lists(operands, min_size=1, max_size=3)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
    paths.map(lambda p: f"attribute_exists({p})"),
    paths.map(lambda p: f"attribute_not_exists({p})"),
    st.tuples(paths, values).map(lambda t: f"attribute_type({t[0]}, {t[1]})"),
    st.tuples(paths, operands).map(lambda t: f"begins_with({t[0]}, {t[1]})"),
    st.tuples(paths, operands).map(lambda t: f"contains({t[0]}, {t[1]})"),
)
conditions = st.recursive(_atoms, _conditions, max_leaves=6)

_set_operands = st.one_of(
    paths,
    values,
    st.tuples(paths, st.one_of(paths, values)).map(lambda t: f"if_not_exists({t[0]}, {t[1]})"),
    st.tuples(st.one_of(paths, values), st.one_of(paths, values)).map(lambda t: f"list_append({t[0]}, {t[1]})"),
)
_set_values = st.one_of(
    _set_operands,
    st.tuples(_set_operands, st.sampled_from(["+", "-"]), _set_operands).map(" ".join),
)
_set_clause = st.lists(st.tuples(paths, _set_values).map(lambda t: f"{t[0]} = {t[1]}"), min_size=1, max_size=3)
_path_value_clause = st.lists(st.tuples(paths, values).map(" ".join), min_size=1, max_size=2)
updates = st.tuples(
    st.one_of(st.none(), _set_clause.map(lambda a: "SET " + ", ".join(a))),
    st.one_of(st.none(), st.lists(paths, min_size=1, max_size=3).map(lambda a: "REMOVE " + ", ".join(a))),
    st.one_of(st.none(), _path_value_clause.map(lambda a: "ADD " + ", ".join(a))),
    st.one_of(st.none(), _path_value_clause.map(lambda a: "DELETE " + ", ".join(a))),
).map(lambda clauses: " ".join(c for c in clauses if c) or "REMOVE a")
projections = st.lists(paths, min_size=1, max_size=4).map(", ".join)

# database=None: no .hypothesis/ folder left in the work tree.
_settings = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(items, value_maps, conditions)
def test_conditions_only_raise_validation_errors(item: dict, value_map: dict, expression: str) -> None:
    try:
        result = ExpressionContext(PLACEHOLDER_NAMES, value_map).condition(expression, "FilterExpression")(item)
    except DynamoValidationError:
        return
    assert isinstance(result, bool)


@_settings
@given(items, value_maps, updates)
def test_updates_only_raise_validation_errors(item: dict, value_map: dict, expression: str) -> None:
    before = repr(item)
    try:
        result = ExpressionContext(PLACEHOLDER_NAMES, value_map).update(expression, ("e",)).apply(item)
    except DynamoValidationError:
        return
    finally:
        assert repr(item) == before
    for value in result.new_item.values():
        assert validate_value(value) == value  # still valid and canonical
    for mode in ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"):
        result.return_values(mode)


@_settings
@given(items, projections)
def test_projections_only_raise_validation_errors(item: dict, expression: str) -> None:
    try:
        projected = ExpressionContext(PLACEHOLDER_NAMES).projection(expression).apply(item)
    except DynamoValidationError:
        return
    assert set(projected) <= set(item)
