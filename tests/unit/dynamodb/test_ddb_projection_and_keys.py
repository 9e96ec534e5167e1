"""ProjectionExpression and KeyConditionExpression."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.dynamodb.logic import DynamoValidationError, ExpressionContext, KeyCondition, KeySchema

ITEM = {
    "id": {"S": "k"},
    "a": {"M": {"b": {"M": {"c": {"N": "1"}, "d": {"N": "2"}}}, "e": {"S": "e"}}},
    "l": {
        "L": [{"S": "l0"}, {"M": {"x": {"S": "x1"}, "y": {"S": "y1"}}}, {"S": "l2"}, {"L": [{"N": "30"}, {"N": "31"}]}]
    },
    "n": {"N": "5"},
    "odd name": {"S": "spaced"},
}


def project(expression: str, names: dict | None = None, item: dict = ITEM) -> dict:
    context = ExpressionContext(names)
    projection = context.projection(expression)
    context.check_unused()
    return projection.apply(item)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("id", {"id": {"S": "k"}}),
        ("id, n", {"id": {"S": "k"}, "n": {"N": "5"}}),
        ("id,n,absent", {"id": {"S": "k"}, "n": {"N": "5"}}),
        ("absent", {}),
        ("a.b.c", {"a": {"M": {"b": {"M": {"c": {"N": "1"}}}}}}),
        ("a.b.c, a.e", {"a": {"M": {"b": {"M": {"c": {"N": "1"}}}, "e": {"S": "e"}}}}),
        ("a.b.c, a.b.d", {"a": {"M": {"b": {"M": {"c": {"N": "1"}, "d": {"N": "2"}}}}}}),
        ("a.b.zz", {}),
        ("a.e.zz", {}),
        ("l[0]", {"l": {"L": [{"S": "l0"}]}}),
        ("l[2], l[0]", {"l": {"L": [{"S": "l0"}, {"S": "l2"}]}}),
        ("l[1].y", {"l": {"L": [{"M": {"y": {"S": "y1"}}}]}}),
        ("l[3][1]", {"l": {"L": [{"L": [{"N": "31"}]}]}}),
        ("l[9]", {}),
        ("l[0].x", {}),
        ("n[0]", {}),
        ("#o", {"odd name": {"S": "spaced"}}),
        ("#a.#b", {"a": {"M": {"b": ITEM["a"]["M"]["b"]}}}),
    ],
)
def test_projection(expression: str, expected: dict) -> None:
    names = {k: v for k, v in {"#o": "odd name", "#a": "a", "#b": "b"}.items() if k in expression} or None
    assert project(expression, names) == expected


P = "Invalid ProjectionExpression: "


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "id, id",
            P + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [id], path two: [id]",
        ),
        (
            "a, a.b",
            P + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [a], path two: [a, b]",
        ),
        (
            "l[0].x, l[0]",
            P + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [l, [0], x], path two: [l, [0]]",
        ),
        (
            "a.b, a[0]",
            P + "Two document paths conflict with each other; must remove or rewrite one of these paths; "
            "path one: [a, b], path two: [a, [0]]",
        ),
        ("", P + "The expression can not be empty;"),
        ("id,", P + 'Syntax error; token: "<EOF>", near: ","'),
        ("id n", P + 'Syntax error; token: "n", near: "id n"'),
        ("id = :v", P + 'Syntax error; token: "=", near: "id = :v"'),
        ("foo(id)", P + 'Syntax error; token: "(", near: "foo(id"'),
        ("name", P + "Attribute name is a reserved keyword; reserved keyword: name"),
        ("a.Status", P + "Attribute name is a reserved keyword; reserved keyword: Status"),
        ("#x", P + "An expression attribute name used in the document path is not defined; attribute name: #x"),
    ],
)
def test_projection_errors(expression: str, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        project(expression)
    assert exc.value.message == message


# --- key conditions ------------------------------------------------------------------

SCHEMA = KeySchema("pk", "S", "sk", "N")
VALUES = {
    ":p": {"S": "user"},
    ":n1": {"N": "1"},
    ":n2": {"N": "2.0"},
    ":s": {"S": "x"},
    ":empty": {"S": ""},
}


def key_condition(expression: str, names: dict | None = None, schema: KeySchema = SCHEMA) -> KeyCondition:
    return ExpressionContext(names, VALUES).key_condition(expression, schema)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("pk = :p", KeyCondition("pk", {"S": "user"})),
        ("pk = :p AND sk = :n1", KeyCondition("pk", {"S": "user"}, "sk", "=", ({"N": "1"},))),
        ("pk = :p and sk < :n1", KeyCondition("pk", {"S": "user"}, "sk", "<", ({"N": "1"},))),
        ("pk = :p AND sk <= :n1", KeyCondition("pk", {"S": "user"}, "sk", "<=", ({"N": "1"},))),
        ("pk = :p AND sk > :n1", KeyCondition("pk", {"S": "user"}, "sk", ">", ({"N": "1"},))),
        ("pk = :p AND sk >= :n1", KeyCondition("pk", {"S": "user"}, "sk", ">=", ({"N": "1"},))),
        ("sk >= :n1 AND pk = :p", KeyCondition("pk", {"S": "user"}, "sk", ">=", ({"N": "1"},))),
        (":n1 >= sk AND :p = pk", KeyCondition("pk", {"S": "user"}, "sk", "<=", ({"N": "1"},))),
        ("(pk = :p) AND (sk = :n1)", KeyCondition("pk", {"S": "user"}, "sk", "=", ({"N": "1"},))),
        (
            "pk = :p AND sk BETWEEN :n1 AND :n2",
            KeyCondition("pk", {"S": "user"}, "sk", "BETWEEN", ({"N": "1"}, {"N": "2"})),
        ),
        ("#k = :p", KeyCondition("pk", {"S": "user"})),
    ],
)
def test_key_conditions(expression: str, expected: KeyCondition) -> None:
    names = {"#k": "pk"} if "#k" in expression else None
    assert key_condition(expression, names) == expected


def test_begins_with_key_condition_and_matching() -> None:
    schema = KeySchema("pk", "S", "sk", "S")
    condition = key_condition("pk = :p AND begins_with(sk, :s)", schema=schema)
    assert condition == KeyCondition("pk", {"S": "user"}, "sk", "begins_with", ({"S": "x"},))
    assert condition.matches({"pk": {"S": "user"}, "sk": {"S": "xyz"}})
    assert not condition.matches({"pk": {"S": "user"}, "sk": {"S": "ax"}})
    assert not condition.matches({"pk": {"S": "other"}, "sk": {"S": "xyz"}})


@pytest.mark.parametrize(
    ("expression", "item", "expected"),
    [
        ("pk = :p", {"pk": {"S": "user"}, "sk": {"N": "9"}}, True),
        ("pk = :p AND sk = :n2", {"pk": {"S": "user"}, "sk": {"N": "2"}}, True),
        ("pk = :p AND sk < :n2", {"pk": {"S": "user"}, "sk": {"N": "2"}}, False),
        ("pk = :p AND sk <= :n2", {"pk": {"S": "user"}, "sk": {"N": "2"}}, True),
        ("pk = :p AND sk > :n1", {"pk": {"S": "user"}, "sk": {"N": "1.5"}}, True),
        ("pk = :p AND sk >= :n2", {"pk": {"S": "user"}, "sk": {"N": "1.5"}}, False),
        ("pk = :p AND sk BETWEEN :n1 AND :n2", {"pk": {"S": "user"}, "sk": {"N": "1.5"}}, True),
        ("pk = :p AND sk BETWEEN :n1 AND :n2", {"pk": {"S": "user"}, "sk": {"N": "3"}}, False),
        ("pk = :p AND sk = :n1", {"pk": {"S": "user"}}, False),
    ],
)
def test_key_condition_matches(expression: str, item: dict, expected: bool) -> None:
    assert key_condition(expression).matches(item) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("pk = :p OR sk = :n1", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:p)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk = :p AND sk <> :n1", "Invalid operator used in KeyConditionExpression: <>"),
        ("pk = :p AND attribute_exists(sk)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("pk = :p AND contains(sk, :n1)", "Invalid operator used in KeyConditionExpression: contains"),
        ("pk = :p AND size(sk) = :n1", "Invalid operator used in KeyConditionExpression: size"),
        ("pk = :p AND sk = :n1 AND sk = :n2", "KeyConditionExpressions must only contain one condition per key"),
        ("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key"),
        ("sk = :n1", "Query condition missed key schema element: pk"),
        ("extra = :p", "Query condition missed key schema element: pk"),
        ("pk = :p AND extra = :n1", "Query key condition not supported"),
        ("pk > :p", "Query key condition not supported"),
        ("begins_with(pk, :p)", "Query key condition not supported"),
        ("pk = :p AND sk = pk", "Query key condition not supported"),
        ("pk.x = :p", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("pk = :n1", "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        (
            "pk = :p AND sk = :s",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "pk = :empty",
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
            "empty string value. Key: pk",
        ),
        (
            "pk = :p AND begins_with(sk, :n1)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or "
            "function: begins_with, operand type: N",
        ),
        (
            "pk = :p AND sk BETWEEN :n2 AND :n1",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal "
            "to lower bound; lower operand: AttributeValue: {N:2}, upper operand: AttributeValue: {N:1}",
        ),
        ("pk = :p AND", 'Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "AND"'),
        (
            "pk = :p AND #s = :n1",
            "Invalid KeyConditionExpression: An expression attribute name used in the document path is not "
            "defined; attribute name: #s",
        ),
        (
            "pk = :p AND Range = :n1",
            "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: Range",
        ),
    ],
)
def test_key_condition_errors(expression: str, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        key_condition(expression)
    assert exc.value.message == message


def test_hash_only_schema_rejects_range_condition() -> None:
    with pytest.raises(DynamoValidationError, match="Query key condition not supported"):
        key_condition("pk = :p AND sk = :n1", schema=KeySchema("pk", "S"))
