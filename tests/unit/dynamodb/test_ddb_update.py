"""UpdateExpression: actions, document paths, ReturnValues and errors."""

from __future__ import annotations

import copy
import re

import pytest

from serverless_lab.cloud.dynamodb.logic import DynamoValidationError, ExpressionContext, UpdateResult

BASE = {
    "id": {"S": "k"},
    "n": {"N": "10"},
    "s": {"S": "str"},
    "l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"S": "d"}]},
    "m": {"M": {"x": {"N": "1"}, "nest": {"M": {"y": {"S": "why"}}}, "arr": {"L": [{"N": "0"}]}}},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"\x01"]},
    "t": {"BOOL": True},
}
VALUES = {
    ":one": {"N": "1"},
    ":half": {"N": "0.5"},
    ":neg": {"N": "-20"},
    ":str": {"S": "new"},
    ":list": {"L": [{"S": "z"}]},
    ":empty_list": {"L": []},
    ":ss": {"SS": ["b", "c"]},
    ":ns": {"NS": ["2.0", "3"]},
    ":bs": {"BS": [b"\x01", b"\x02"]},
    ":map": {"M": {"k": {"S": "v"}}},
    ":big": {"N": "9.9999999999999999999999999999999999999E+125"},
    ":tiny": {"N": "1E-130"},
    ":ss_a": {"SS": ["a"]},
    ":ss_ab": {"SS": ["a", "b"]},
    ":null": {"NULL": True},
}


def apply(expression: str, item: dict = BASE, names: dict | None = None, keys: tuple = ("id",)) -> UpdateResult:
    used = {k: VALUES[k] for k in re.findall(r":\w+", expression) if k in VALUES}
    context = ExpressionContext(names, used or None)
    update = context.update(expression, keys)
    context.check_unused()
    return update.apply(item)


def changed(expression: str, item: dict = BASE, names: dict | None = None) -> dict:
    """The attributes whose value differs from ``item`` after the update (None: removed)."""
    new = apply(expression, item, names).new_item
    return {k: new.get(k) for k in set(item) | set(new) if item.get(k) != new.get(k)}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("SET s = :str", {"s": {"S": "new"}}),
        ("SET fresh = :str", {"fresh": {"S": "new"}}),
        ("set s = :str", {"s": {"S": "new"}}),
        ("SET n = n + :one", {"n": {"N": "11"}}),
        ("SET n = n - :one", {"n": {"N": "9"}}),
        ("SET n = n + :half", {"n": {"N": "10.5"}}),
        ("SET n = :neg + n", {"n": {"N": "-10"}}),
        ("SET n = n - n", {"n": {"N": "0"}}),
        ("SET c = :one + :one", {"c": {"N": "2"}}),
        ("SET n = :big - :big", {"n": {"N": "0"}}),
        ("SET dup = m.nest", {"dup": {"M": {"y": {"S": "why"}}}}),
        ("SET s = n, n = s", {"s": {"N": "10"}, "n": {"S": "str"}}),
        ("SET c = if_not_exists(c, :one)", {"c": {"N": "1"}}),
        ("SET n = if_not_exists(n, :one)", {}),
        ("SET c = if_not_exists(c, :one) + :one", {"c": {"N": "2"}}),
        ("SET n = if_not_exists(n, :one) + :one", {"n": {"N": "11"}}),
        ("SET l = list_append(l, :list)", {"l": {"L": BASE["l"]["L"] + [{"S": "z"}]}}),
        ("SET l = list_append(:list, l)", {"l": {"L": [{"S": "z"}] + BASE["l"]["L"]}}),
        ("SET c = list_append(if_not_exists(c, :empty_list), :list)", {"c": {"L": [{"S": "z"}]}}),
        ("SET l = list_append(l, :empty_list)", {}),
        ("SET m.x = :str", {"m": {"M": {**BASE["m"]["M"], "x": {"S": "new"}}}}),
        ("SET m.nest.y = :one", {"m": {"M": {**BASE["m"]["M"], "nest": {"M": {"y": {"N": "1"}}}}}}),
        ("SET m.fresh = :map", {"m": {"M": {**BASE["m"]["M"], "fresh": {"M": {"k": {"S": "v"}}}}}}),
        ("SET m.arr[0] = :str", {"m": {"M": {**BASE["m"]["M"], "arr": {"L": [{"S": "new"}]}}}}),
        ("SET l[1] = :str", {"l": {"L": [{"S": "a"}, {"S": "new"}, {"S": "c"}, {"S": "d"}]}}),
        ("SET l[10] = :str", {"l": {"L": BASE["l"]["L"] + [{"S": "new"}]}}),
        ("SET l[0] = :str, l[1] = :one", {"l": {"L": [{"S": "new"}, {"N": "1"}, {"S": "c"}, {"S": "d"}]}}),
        ("SET #n = :str", {"n": {"S": "new"}}),
        ("SET m.#x = :null", {"m": {"M": {**BASE["m"]["M"], "x": {"NULL": True}}}}),
        ("REMOVE s", {"s": None}),
        ("REMOVE s, n, absent", {"s": None, "n": None}),
        ("REMOVE m.x", {"m": {"M": {"nest": BASE["m"]["M"]["nest"], "arr": BASE["m"]["M"]["arr"]}}}),
        ("REMOVE m.nest.y", {"m": {"M": {**BASE["m"]["M"], "nest": {"M": {}}}}}),
        ("REMOVE m.nope, m.nest.nope, absent.x", {}),
        ("REMOVE l[0]", {"l": {"L": [{"S": "b"}, {"S": "c"}, {"S": "d"}]}}),
        ("REMOVE l[1], l[2]", {"l": {"L": [{"S": "a"}, {"S": "d"}]}}),
        ("REMOVE l[2], l[0]", {"l": {"L": [{"S": "b"}, {"S": "d"}]}}),
        ("REMOVE l[3], l[0], l[1], l[2]", {"l": {"L": []}}),
        ("REMOVE l[9]", {}),
        ("REMOVE m.arr[0]", {"m": {"M": {**BASE["m"]["M"], "arr": {"L": []}}}}),
        ("SET l[1] = :str REMOVE l[0]", {"l": {"L": [{"S": "new"}, {"S": "c"}, {"S": "d"}]}}),
        ("ADD n :one", {"n": {"N": "11"}}),
        ("ADD n :neg", {"n": {"N": "-10"}}),
        ("ADD c :one", {"c": {"N": "1"}}),
        ("ADD m.x :one", {"m": {"M": {**BASE["m"]["M"], "x": {"N": "2"}}}}),
        ("ADD m.c :one", {"m": {"M": {**BASE["m"]["M"], "c": {"N": "1"}}}}),
        ("ADD ss :ss", {"ss": {"SS": ["a", "b", "c"]}}),
        ("ADD ns :ns", {"ns": {"NS": ["1", "2", "3"]}}),
        ("ADD bs :bs", {"bs": {"BS": [b"\x01", b"\x02"]}}),
        ("ADD fresh :ss", {"fresh": {"SS": ["b", "c"]}}),
        ("ADD ss :ss_a", {}),
        ("DELETE ss :ss_a", {"ss": {"SS": ["b"]}}),
        ("DELETE ss :ss", {"ss": {"SS": ["a"]}}),
        ("DELETE ss :ss_ab", {"ss": None}),
        ("DELETE ns :ns", {"ns": {"NS": ["1"]}}),
        ("DELETE bs :bs", {"bs": None}),
        ("DELETE absent :ss", {}),
        (
            "SET s = :str REMOVE t ADD n :one DELETE ss :ss_a",
            {"s": {"S": "new"}, "t": None, "n": {"N": "11"}, "ss": {"SS": ["b"]}},
        ),
        (
            "DELETE ss :ss_a ADD n :one REMOVE t SET s = :str",
            {"s": {"S": "new"}, "t": None, "n": {"N": "11"}, "ss": {"SS": ["b"]}},
        ),
        ("SET a = :one,b = :one", {"a": {"N": "1"}, "b": {"N": "1"}}),
    ],
)
def test_update(expression: str, expected: dict) -> None:
    names = {k: k[1:] for k in ("#n", "#x") if k in expression} or None
    before = copy.deepcopy(BASE)
    assert changed(expression, names=names) == expected
    assert BASE == before  # the old item is never mutated


def test_arithmetic_result_is_normalised() -> None:
    item = {"id": {"S": "k"}, "f": {"N": "0.1"}}
    context = ExpressionContext(None, {":v": {"N": "0.20"}})
    assert context.update("SET f = f + :v").apply(item).new_item["f"] == {"N": "0.3"}


def _update_error(expression: str, item: dict = BASE, names: dict | None = None) -> str:
    with pytest.raises(DynamoValidationError) as exc:
        apply(expression, item, names)
    return exc.value.message


U = "Invalid UpdateExpression: "


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        # structure
        ("SET s = :str SET n = :one", U + 'The "SET" section can only be used once in an update expression;'),
        ("REMOVE s remove n", U + 'The "REMOVE" section can only be used once in an update expression;'),
        ("ADD n :one ADD c :one", U + 'The "ADD" section can only be used once in an update expression;'),
        ("DELETE ss :ss DELETE ns :ns", U + 'The "DELETE" section can only be used once in an update expression;'),
        ("", U + "The expression can not be empty;"),
        ("s = :str", U + 'Syntax error; token: "s", near: "s ="'),
        ("SET s :str", U + 'Syntax error; token: ":str", near: "s :str"'),
        ("SET s = :str,", U + 'Syntax error; token: "<EOF>", near: ","'),
        ("SET s = :str n = :one", U + 'Syntax error; token: "n", near: ":str n ="'),
        ("SET n = n + :one + :one", U + 'Syntax error; token: "+", near: ":one + :one"'),
        ("SET n = (n + :one)", U + 'Syntax error; token: "(", near: "= (n"'),
        ("ADD n n", U + 'Syntax error; token: "n", near: "n n"'),
        ("REMOVE s = :str", U + 'Syntax error; token: "=", near: "s = :str"'),
        ("UPSERT s = :str", U + 'Syntax error; token: "UPSERT", near: "UPSERT s"'),
        ("SET status = :str", U + "Attribute name is a reserved keyword; reserved keyword: status"),
        ("REMOVE Name", U + "Attribute name is a reserved keyword; reserved keyword: Name"),
        ("SET s = size(s)", U + "The function is not allowed in an update expression; function: size"),
        ("SET s = contains(s, :str)", U + "The function is not allowed in an update expression; function: contains"),
        ("SET s = upper(s)", U + "Invalid function name; function: upper"),
        (
            "SET c = if_not_exists(:one, :one)",
            U + "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET l = list_append(l)",
            U + "Incorrect number of operands for operator or function; operator or function: list_append, "
            "number of operands: 1",
        ),
        # placeholders
        (
            "SET s = :nope",
            U + "An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            "SET #nope = :str",
            U + "An expression attribute name used in the document path is not defined; attribute name: #nope",
        ),
        # operand types known up front
        (
            "SET l = list_append(l, :map)",
            U + "Incorrect operand type for operator or function; operator or function: list_append, operand type: M",
        ),
        (
            "SET n = n + :str",
            U + "Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "SET n = :list - n",
            U + "Incorrect operand type for operator or function; operator or function: -, operand type: L",
        ),
        ("ADD s :str", U + "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"),
        ("ADD l :list", U + "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"),
        ("ADD m :map", U + "Incorrect operand type for operator or function; operator: ADD, operand type: MAP"),
        ("ADD t :null", U + "Incorrect operand type for operator or function; operator: ADD, operand type: NULL"),
        (
            "DELETE n :one",
            U + "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
        (
            "DELETE s :str",
            U + "Incorrect operand type for operator or function; operator: DELETE, operand type: STRING",
        ),
        # paths
        (
            "SET s = :str REMOVE s",
            U + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [s], path two: [s]",
        ),
        (
            "SET m = :map, m.x = :one",
            U + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [m], path two: [m, x]",
        ),
        (
            "SET l[0] = :str REMOVE l",
            U + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [l, [0]], path two: [l]",
        ),
        (
            "SET #a = :one, a = :one",
            U + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [a], path two: [a]",
        ),
        (
            "SET m.x = :one REMOVE m[0]",
            U + "Two document paths conflict with each other; must remove or rewrite one of these paths; "
            "path one: [m, x], path two: [m, [0]]",
        ),
        (
            "ADD n :one DELETE n :ss",
            U + "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [n], path two: [n]",
        ),
        # key attributes
        (
            "SET id = :str",
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
        ),
        (
            "REMOVE id",
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
        ),
        (
            "SET id.x = :str",
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
        ),
        (
            "ADD #k :one",
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
        ),
        # evaluated against the item
        ("SET n = s + :one", "An operand in the update expression has an incorrect data type"),
        ("SET c = l - :one", "An operand in the update expression has an incorrect data type"),
        ("SET l = list_append(l, s)", "An operand in the update expression has an incorrect data type"),
        ("SET l = list_append(n, :list)", "An operand in the update expression has an incorrect data type"),
        ("ADD s :one", "An operand in the update expression has an incorrect data type"),
        ("ADD ss :ns", "An operand in the update expression has an incorrect data type"),
        ("ADD ns :ss", "An operand in the update expression has an incorrect data type"),
        ("ADD n :ss", "An operand in the update expression has an incorrect data type"),
        ("DELETE ss :ns", "An operand in the update expression has an incorrect data type"),
        ("DELETE s :ss", "An operand in the update expression has an incorrect data type"),
        ("SET n = absent + :one", "The provided expression refers to an attribute that does not exist in the item"),
        ("SET c = absent", "The provided expression refers to an attribute that does not exist in the item"),
        ("SET c = m.nope", "The provided expression refers to an attribute that does not exist in the item"),
        (
            "SET c = list_append(absent, :list)",
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        ("SET absent.x = :one", "The document path provided in the update expression is invalid for update"),
        ("SET m.nope.x = :one", "The document path provided in the update expression is invalid for update"),
        ("SET s.x = :one", "The document path provided in the update expression is invalid for update"),
        ("SET m[0] = :one", "The document path provided in the update expression is invalid for update"),
        ("SET l.x = :one", "The document path provided in the update expression is invalid for update"),
        ("SET l[9].x = :one", "The document path provided in the update expression is invalid for update"),
        ("ADD absent.x :one", "The document path provided in the update expression is invalid for update"),
        ("REMOVE s[0]", "The document path provided in the update expression is invalid for update"),
        ("REMOVE l.x", "The document path provided in the update expression is invalid for update"),
        (
            "SET n = :big + :big",
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        ("SET n = :big + :tiny", "Attempting to store more than 38 significant digits in a Number"),
    ],
)
def test_update_errors(expression: str, message: str) -> None:
    names = {k: {"#a": "a", "#k": "id"}[k] for k in ("#a", "#k") if k in expression} or None
    assert _update_error(expression, names=names) == message


def test_update_item_size_limit() -> None:
    context = ExpressionContext(None, {":v": {"S": "x" * 400 * 1024}})
    update = context.update("SET big = :v")
    with pytest.raises(DynamoValidationError) as exc:
        update.apply({"id": {"S": "k"}})
    assert exc.value.message == "Item size to update has exceeded the maximum allowed size"


def test_update_creates_item_from_key() -> None:
    result = apply("SET s = :str ADD n :one, ss :ss", {"id": {"S": "k"}})
    assert result.new_item == {"id": {"S": "k"}, "s": {"S": "new"}, "n": {"N": "1"}, "ss": {"SS": ["b", "c"]}}
    assert result.return_values("UPDATED_OLD") is None
    assert result.return_values("UPDATED_NEW") == {"s": {"S": "new"}, "n": {"N": "1"}, "ss": {"SS": ["b", "c"]}}


@pytest.mark.parametrize(
    ("expression", "mode", "expected"),
    [
        ("SET s = :str", "NONE", None),
        ("SET s = :str", "ALL_OLD", BASE),
        ("SET s = :str", "ALL_NEW", {**BASE, "s": {"S": "new"}}),
        ("SET s = :str", "UPDATED_OLD", {"s": {"S": "str"}}),
        ("SET s = :str", "UPDATED_NEW", {"s": {"S": "new"}}),
        ("SET fresh = :str", "UPDATED_OLD", None),
        ("SET fresh = :str", "UPDATED_NEW", {"fresh": {"S": "new"}}),
        ("REMOVE s", "UPDATED_OLD", {"s": {"S": "str"}}),
        ("REMOVE s", "UPDATED_NEW", None),
        ("REMOVE l[1]", "UPDATED_OLD", {"l": {"L": [{"S": "b"}]}}),
        ("REMOVE l[1]", "UPDATED_NEW", None),
        ("ADD n :one SET m.x = :str", "UPDATED_NEW", {"n": {"N": "11"}, "m": {"M": {"x": {"S": "new"}}}}),
        ("ADD n :one SET m.x = :str", "UPDATED_OLD", {"n": {"N": "10"}, "m": {"M": {"x": {"N": "1"}}}}),
        ("SET l[0] = :str, l[2] = :str", "UPDATED_NEW", {"l": {"L": [{"S": "new"}, {"S": "new"}]}}),
        ("SET m.nest.y = :one", "UPDATED_OLD", {"m": {"M": {"nest": {"M": {"y": {"S": "why"}}}}}}),
        ("DELETE ss :ss_a", "UPDATED_NEW", {"ss": {"SS": ["b"]}}),
        ("DELETE ss :ss_ab", "UPDATED_NEW", None),
    ],
)
def test_return_values(expression: str, mode: str, expected: dict | None) -> None:
    assert apply(expression).return_values(mode) == expected


def test_return_values_rejects_unknown_mode() -> None:
    with pytest.raises(DynamoValidationError, match="returnValues"):
        apply("SET s = :str").return_values("EVERYTHING")


def test_update_of_non_key_attribute_named_like_nested_key_field() -> None:
    result = apply("SET m.id = :str")
    assert result.new_item["m"]["M"]["id"] == {"S": "new"}
