"""PartiQL statements compiled onto the expression engine."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.dynamodb.logic import DynamoValidationError, KeySchema
from serverless_lab.cloud.dynamodb.logic.partiql import Delete, Insert, Select, UpdateStatement, parse_statement

ITEM = {
    "pk": {"S": "a"},
    "sk": {"N": "1"},
    "n": {"N": "5"},
    "s": {"S": "hello"},
    "tags": {"SS": ["x", "y"]},
    "m": {"M": {"k": {"S": "v"}, "l": {"L": [{"N": "1"}, {"N": "2"}]}}},
    "status": {"S": "on"},
    "odd name": {"N": "1"},
    "nul": {"NULL": True},
}
SCHEMA = KeySchema("pk", "S", "sk", "N")


@pytest.mark.parametrize(
    ("where", "parameters", "expected"),
    [
        ("pk = 'a'", [], True),
        ("pk = ?", [{"S": "a"}], True),
        ("pk = ? AND sk = ?", [{"S": "a"}, {"N": "1.0"}], True),
        ("pk <> 'a'", [], False),
        ("pk != 'b'", [], True),
        ("n > 4 AND n <= 5", [], True),
        ("n < -1", [], False),
        ("n BETWEEN 1 AND 10", [], True),
        ("n IN [1, 5, 9]", [], True),
        ("n IN (1, 2)", [], False),
        ("s = 'hello' OR n = 0", [], True),
        ("NOT s = 'hello'", [], False),
        ("(n = 1 OR n = 5) AND s = 'hello'", [], True),
        ('"odd name" = 1', [], True),
        ("status = 'on'", [], True),
        ("m.k = 'v'", [], True),
        ("m.l[1] = 2", [], True),
        ("m['k'] = 'v'", [], True),
        ('"m"."k" = \'v\'', [], True),
        ("begins_with(s, 'he')", [], True),
        ("BEGINS_WITH(s, 'lo')", [], False),
        ("contains(tags, 'x')", [], True),
        ("contains(s, ?)", [{"S": "ell"}], True),
        ("attribute_type(n, 'N')", [], True),
        ("size(tags) = 2", [], True),
        ("absent IS MISSING", [], True),
        ("n IS MISSING", [], False),
        ("n IS NOT MISSING", [], True),
        ("nul IS NULL", [], True),
        ("n IS NULL", [], False),
        ("n IS NOT NULL", [], True),
        ("m = {'k': 'v', 'l': [1, 2]}", [], True),
        ("tags = <<'y', 'x'>>", [], True),
        ("m.l = [1, ?]", [{"N": "2"}], True),
        ("n = 5.0e0", [], True),
        ("s = 'it''s'", [], False),
        ("nul = NULL", [], True),
    ],
)
def test_select_where(where: str, parameters: list, expected: bool) -> None:
    statement = parse_statement(f'SELECT * FROM "t" WHERE {where}', parameters)
    assert isinstance(statement, Select)
    assert statement.where is not None
    assert statement.where(ITEM) is expected


def test_select_projection_index_and_equalities() -> None:
    statement = parse_statement('SELECT n, m.l[0], "odd name" FROM "t"."byN" WHERE pk = ? AND n > 1', [{"S": "a"}])
    assert isinstance(statement, Select)
    assert (statement.table, statement.index) == ("t", "byN")
    assert statement.equalities == {"pk": {"S": "a"}}
    assert statement.projection is not None
    assert statement.projection.apply(ITEM) == {
        "n": {"N": "5"},
        "m": {"M": {"l": {"L": [{"N": "1"}]}}},
        "odd name": {"N": "1"},
    }
    with pytest.raises(DynamoValidationError, match="mandatory equality on all key attributes"):
        statement.key(SCHEMA)
    assert statement.key(KeySchema("pk", "S")) == {"pk": {"S": "a"}}


def test_select_star_without_where() -> None:
    statement = parse_statement("select * from Music")
    assert isinstance(statement, Select)
    assert statement.where is None and statement.projection is None and statement.table == "Music"


def test_insert() -> None:
    statement = parse_statement(
        "INSERT INTO \"t\" VALUE {'pk': 'a', 'sk': ?, 'n': -1.50, 'l': [1, 'x', TRUE, NULL, ?], "
        "'s': <<'a', 'b'>>, 'ns': <<1, 2>>, 'm': {'deep': {'x': ?}}}",
        [{"N": "7"}, {"S": "p"}, {"BOOL": False}],
    )
    assert statement == Insert(
        "t",
        {
            "pk": {"S": "a"},
            "sk": {"N": "7"},
            "n": {"N": "-1.5"},
            "l": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}, {"NULL": True}, {"S": "p"}]},
            "s": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]},
            "m": {"M": {"deep": {"M": {"x": {"BOOL": False}}}}},
        },
    )


def test_insert_same_text_different_parameters_uses_cache_safely() -> None:
    text = "INSERT INTO t VALUE {'pk': ?, 'l': [?]}"
    first = parse_statement(text, [{"S": "1"}, {"N": "1"}])
    second = parse_statement(text, [{"S": "2"}, {"N": "2"}])
    assert isinstance(first, Insert) and isinstance(second, Insert)
    assert first.item == {"pk": {"S": "1"}, "l": {"L": [{"N": "1"}]}}
    assert second.item == {"pk": {"S": "2"}, "l": {"L": [{"N": "2"}]}}


@pytest.mark.parametrize(
    ("statement", "parameters", "expected"),
    [
        ("UPDATE t SET n = 6 WHERE pk = 'a' AND sk = 1", [], {"n": {"N": "6"}}),
        ("UPDATE t SET n = n + 1 WHERE pk = 'a' AND sk = 1", [], {"n": {"N": "6"}}),
        ("UPDATE t SET n = n - ? WHERE pk = 'a' AND sk = 1", [{"N": "10"}], {"n": {"N": "-5"}}),
        ("UPDATE t SET s = ?, x = 'new' WHERE pk = 'a' AND sk = 1", [{"S": "z"}], {"s": {"S": "z"}, "x": {"S": "new"}}),
        ("UPDATE t SET m.k = 'w' WHERE pk = 'a' AND sk = 1", [], {"m": {"M": {**ITEM["m"]["M"], "k": {"S": "w"}}}}),
        (
            "UPDATE t SET m.l = list_append(m.l, [3]) WHERE pk = 'a' AND sk = 1",
            [],
            {"m": {"M": {**ITEM["m"]["M"], "l": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}}}},
        ),
        ("UPDATE t SET c = if_not_exists(c, 0) WHERE pk = 'a' AND sk = 1", [], {"c": {"N": "0"}}),
        ("UPDATE t SET tags = set_add(tags, <<'z'>>) WHERE pk = 'a' AND sk = 1", [], {"tags": {"SS": ["x", "y", "z"]}}),
        ("UPDATE t SET tags = set_delete(tags, <<'x'>>) WHERE pk = 'a' AND sk = 1", [], {"tags": {"SS": ["y"]}}),
        ("UPDATE t REMOVE s WHERE pk = 'a' AND sk = 1", [], {"s": None}),
        (
            "UPDATE t REMOVE m.l[0] WHERE pk = 'a' AND sk = 1",
            [],
            {"m": {"M": {**ITEM["m"]["M"], "l": {"L": [{"N": "2"}]}}}},
        ),
        (
            "UPDATE t SET n = 1 REMOVE s SET x = 2 WHERE pk = 'a' AND sk = 1",
            [],
            {"n": {"N": "1"}, "s": None, "x": {"N": "2"}},
        ),
        ("UPDATE \"t\" SET \"status\" = 'off' WHERE pk = 'a' AND sk = 1", [], {"status": {"S": "off"}}),
    ],
)
def test_update(statement: str, parameters: list, expected: dict) -> None:
    parsed = parse_statement(statement, parameters)
    assert isinstance(parsed, UpdateStatement)
    assert parsed.key(SCHEMA) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert parsed.where(ITEM)
    new = parsed.update(SCHEMA.names).apply(ITEM).new_item
    assert {k: new.get(k) for k in set(ITEM) | set(new) if ITEM.get(k) != new.get(k)} == expected


def test_update_rejects_key_attributes() -> None:
    parsed = parse_statement("UPDATE t SET pk = 'b' WHERE pk = 'a' AND sk = 1")
    assert isinstance(parsed, UpdateStatement)
    with pytest.raises(DynamoValidationError, match="Cannot update attribute pk"):
        parsed.update(SCHEMA.names)


def test_delete() -> None:
    parsed = parse_statement("DELETE FROM t WHERE pk = ? AND sk = ? AND n > 1", [{"S": "a"}, {"N": "1"}])
    assert isinstance(parsed, Delete)
    assert parsed.key(SCHEMA) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert parsed.where(ITEM)


MALFORMED = "Statement wasn't well formed, can't be processed: "


@pytest.mark.parametrize(
    ("statement", "parameters", "message"),
    [
        ("SELECT * FROM t WHERE pk = ?", [], "Number of parameters in request and statement don't match."),
        ("SELECT * FROM t", [{"S": "x"}], "Number of parameters in request and statement don't match."),
        ("SELEC * FROM t", [], MALFORMED + "Unexpected token: SELEC"),
        ("SELECT * FROM", [], MALFORMED + "Unexpected end of statement"),
        ("SELECT * FROM t WHERE", [], MALFORMED + "Unexpected end of statement"),
        ("SELECT * FROM t WHERE a = 1 extra", [], MALFORMED + "Unexpected token: extra"),
        ("SELECT * FROM t WHERE a ~ 1", [], MALFORMED + "Unexpected character '~'"),
        ("SELECT * FROM t WHERE a = 'open", [], MALFORMED + 'Unexpected character "\'"'),
        ("SELECT * FROM t WHERE lower(a) = 'x'", [], MALFORMED + "Unsupported function: lower"),
        ("SELECT * FROM t WHERE begins_with('a', 'b')", [], MALFORMED + "Invalid arguments for function begins_with"),
        ("DELETE FROM t", [], MALFORMED + "Where clause is required"),
        ("UPDATE t WHERE pk = 'a'", [], MALFORMED + "Unexpected token: WHERE"),
        ("UPDATE t SET n = 1", [], MALFORMED + "Where clause is required"),
        (
            "UPDATE t SET n = set_add(m, <<1>>) WHERE pk = 'a'",
            [],
            MALFORMED + "SET_ADD must apply to the attribute being set",
        ),
        ("INSERT INTO t VALUE 'x'", [], MALFORMED + "INSERT requires a map value"),
        (
            "INSERT INTO t VALUE {'a': <<1, 'x'>>}",
            [],
            MALFORMED + "A set must hold strings, numbers or binaries of one type",
        ),
        ("INSERT INTO t VALUE {'a': <<>>}", [], MALFORMED + "A set must hold strings, numbers or binaries of one type"),
        (
            "INSERT INTO t VALUE {'a': <<'x', 'x'>>}",
            [],
            "One or more parameter values were invalid: Input collection [x, x] contains duplicates.",
        ),
        (
            "INSERT INTO t VALUE {'a': 1e999}",
            [],
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        (
            "INSERT INTO t VALUE {'a': ?}",
            [{"SS": []}],
            "One or more parameter values were invalid: An string set  may not be empty",
        ),
        (
            "SELECT a, a.b FROM t",
            [],
            "Invalid PartiQL statement: Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [a], path two: [a, b]",
        ),
        (
            "UPDATE t SET a = 1, a.b = 2 WHERE pk = 'a'",
            [],
            "Invalid PartiQL statement: Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [a], path two: [a, b]",
        ),
        (
            "SELECT * FROM t WHERE n BETWEEN 5 AND 1",
            [],
            "Invalid PartiQL statement: The BETWEEN operator requires upper bound to be greater than or equal to "
            "lower bound; lower operand: AttributeValue: {N:5}, upper operand: AttributeValue: {N:1}",
        ),
    ],
)
def test_errors(statement: str, parameters: list, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        parse_statement(statement, parameters)
    assert exc.value.message == message
