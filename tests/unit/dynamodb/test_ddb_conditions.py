"""Condition and filter expressions: parsing, placeholders, semantics and errors."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.dynamodb.logic import DynamoValidationError, ExpressionContext
from serverless_lab.cloud.dynamodb.logic.expressions import RESERVED_WORDS, is_reserved, parse_condition

ITEM = {
    "id": {"S": "k1"},
    "s": {"S": "hello world"},
    "e": {"S": ""},
    "n": {"N": "10"},
    "neg": {"N": "-2.5"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "b": {"B": b"\x01\x02\x03"},
    "t": {"BOOL": True},
    "nul": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"S": "d"}}}, {"L": [{"N": "7"}]}]},
    "m": {"M": {"a": {"M": {"b": {"M": {"c": {"N": "3"}}}}}, "k": {"S": "v"}, "n2": {"N": "2"}}},
    "status": {"S": "active"},
    "my-attr": {"S": "dash"},
}

VALUES = {
    ":s": {"S": "hello world"},
    ":hello": {"S": "hello"},
    ":world": {"S": "world"},
    ":x": {"S": "x"},
    ":a": {"S": "a"},
    ":c": {"S": "c"},
    ":empty": {"S": ""},
    ":n10": {"N": "10"},
    ":n10f": {"N": "10.000"},
    ":n5": {"N": "5"},
    ":n1": {"N": "1"},
    ":n2": {"N": "2"},
    ":n3": {"N": "3"},
    ":n7": {"N": "7"},
    ":n11": {"N": "1.1E1"},
    ":n25": {"N": "2.5"},
    ":neg": {"N": "-2.50"},
    ":big": {"N": "12345678901234567890123456789012345678"},
    ":big1": {"N": "12345678901234567890123456789012345679"},
    ":b": {"B": b"\x01\x02\x03"},
    ":b1": {"B": b"\x01"},
    ":b2": {"B": b"\x02\x03"},
    ":true": {"BOOL": True},
    ":false": {"BOOL": False},
    ":null": {"NULL": True},
    ":ss": {"SS": ["b", "a"]},
    ":ns": {"NS": ["2.50", "1"]},
    ":list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"S": "d"}}}, {"L": [{"N": "7"}]}]},
    ":map": {"M": {"c": {"N": "3"}}},
    ":tS": {"S": "S"},
    ":tN": {"S": "N"},
    ":tB": {"S": "B"},
    ":tBOOL": {"S": "BOOL"},
    ":tNULL": {"S": "NULL"},
    ":tSS": {"S": "SS"},
    ":tNS": {"S": "NS"},
    ":tBS": {"S": "BS"},
    ":tL": {"S": "L"},
    ":tM": {"S": "M"},
    ":d": {"M": {"deep": {"S": "d"}}},
    ":n4": {"N": "4"},
}
NAMES = {"#s": "s", "#status": "status", "#dash": "my-attr", "#m": "m", "#a": "a", "#dot": "m.k"}


def check(expression: str, item: dict | None = ITEM) -> bool:
    context = ExpressionContext(NAMES, VALUES)
    return context.condition(expression)(item)


TRUE_CASES = [
    # comparisons
    "s = :s",
    "n = :n10",
    "n = :n10f",
    "n <> :n5",
    "n > :n5",
    "n >= :n10",
    "n <= :n10",
    "n < :n11",
    "neg = :neg",
    "neg < :n1",
    "big < :big1",
    "big = :big",
    "s > :hello",
    "s < :x",
    "b = :b",
    "b > :b1",
    "b < :b2",
    "t = :true",
    "t <> :false",
    "nul = :null",
    "ss = :ss",
    "ns = :ns",
    "l = :list",
    "m.a.b = :map",
    ":n5 < n",
    "n > neg",
    "s <> n",
    "absent <> :n5",
    "e = :empty",
    # BETWEEN / IN
    "n BETWEEN :n5 AND :n10",
    "n BETWEEN :n10 AND :n11",
    "s BETWEEN :hello AND :x",
    "b BETWEEN :b1 AND :b2",
    "n IN (:n1, :n10)",
    "s IN (:x, :s)",
    "l IN (:list)",
    "n IN (n2, m.n2, n)",
    # functions
    "attribute_exists(s)",
    "attribute_exists(m.a.b.c)",
    "attribute_exists(l[2].deep)",
    "attribute_exists(l[3][0])",
    "attribute_not_exists(absent)",
    "attribute_not_exists(l[4])",
    "attribute_not_exists(s.x)",
    "attribute_not_exists(m.a[0])",
    "attribute_type(s, :tS)",
    "attribute_type(n, :tN)",
    "attribute_type(b, :tB)",
    "attribute_type(t, :tBOOL)",
    "attribute_type(nul, :tNULL)",
    "attribute_type(ss, :tSS)",
    "attribute_type(ns, :tNS)",
    "attribute_type(bs, :tBS)",
    "attribute_type(l, :tL)",
    "attribute_type(m, :tM)",
    "begins_with(s, :hello)",
    "begins_with(s, :empty)",
    "begins_with(b, :b1)",
    "begins_with(#s, s)",
    "contains(s, :world)",
    "contains(s, :empty)",
    "contains(b, :b2)",
    "contains(ss, :a)",
    "contains(ns, :n25)",
    "contains(bs, :b1)",
    "contains(l, :x)",
    "contains(l, :n1)",
    "contains(l, :d)",
    "size(s) = :n11",
    "size(e) < :n1",
    "size(b) = :n3",
    "size(ss) = :n2",
    "size(ns) = :n2",
    "size(bs) = :n2",
    "size(l) = :n4",
    "size(m) = :n3",
    "size(m.a) = :n1",
    "size(l[3]) = :n1",
    "size(s) > size(ss)",
    "size(l) BETWEEN :n3 AND :n5",
    "size(ss) IN (:n1, :n2)",
    # logic and precedence
    "NOT n = :n5",
    "NOT NOT n = :n10",
    "n = :n5 OR n = :n10",
    "n = :n10 AND s = :s",
    "n = :n5 AND s = :x OR n = :n10",  # (F AND F) OR T
    "n = :n10 OR n = :n5 AND s = :x",  # T OR (F AND F)
    "NOT n = :n5 AND n = :n10",  # (NOT F) AND T
    "NOT (n = :n5 OR n = :n1)",
    "(n = :n5 OR n = :n10) AND (s = :s)",
    "((((n = :n10))))",
    "n BETWEEN :n5 AND :n10 AND s = :s",
    "NOT attribute_exists(absent) AND attribute_exists(n)",
    # case-insensitive keywords
    "n = :n5 or n = :n10",
    "n between :n5 and :n10",
    "not n in (:n1)",
    # placeholders
    "#status = #status",
    "#dash = #dash",
    "#m.#a.b = :map",
    "attribute_not_exists(#dot)",
    "#m.k = #m.k",
    "l[0] = :x",
    "l[1] = :n1",
    "l[2].deep = l[2].deep",
    "l[3][0] = :n7",
    "  n=:n10  ",
    "n\t=\n:n10",
]

FALSE_CASES = [
    "s = :hello",
    "n = :s",
    "n <> :n10",
    "n <> :n10f",
    "n < :n10",
    "n > :n10",
    "n < :s",
    "n >= :s",
    "s < :n5",
    "b < :b1",
    "absent = :n5",
    "absent < :n5",
    "absent > :n5",
    "absent = absent",
    "l[9] = :x",
    "m.nope.deeper = :x",
    "s.part = :x",
    "t = :false",
    "ss = :a",
    "ss <> :ss",
    "n BETWEEN :n1 AND :n5",
    "n BETWEEN :hello AND :x",
    "absent BETWEEN :n1 AND :n5",
    "n IN (:n1, :n5)",
    "n IN (:s, :x)",
    "absent IN (:n1)",
    "attribute_exists(absent)",
    "attribute_exists(l[9])",
    "attribute_exists(m.a.b.c.d)",
    "attribute_not_exists(n)",
    "attribute_type(s, :tN)",
    "attribute_type(absent, :tS)",
    "attribute_type(ss, :tS)",
    "begins_with(s, :world)",
    "begins_with(n, :a)",
    "begins_with(absent, :hello)",
    "begins_with(b, :b2)",
    "begins_with(s, :b1)",
    "contains(s, :x)",
    "contains(ss, :c)",
    "contains(ns, :n3)",
    "contains(ss, :n1)",
    "contains(l, :c)",
    "contains(n, :n1)",
    "contains(m, :c)",
    "contains(absent, :a)",
    "contains(s, :n1)",
    "size(s) = :n10",
    "size(n) = :n2",
    "size(t) = :n1",
    "size(absent) = :n1",
    "size(absent) <> :n1 AND n = :n5",
    "NOT n = :n10",
    "n = :n5 AND s = :s",
    "n = :n5 OR s = :x",
    "NOT (n = :n10 OR n = :n5)",
    "n = :n10 AND (n = :n5 OR s = :x)",
    "NOT attribute_exists(n)",
]


@pytest.mark.parametrize("expression", TRUE_CASES)
def test_true(expression: str) -> None:
    assert check(expression) is True


@pytest.mark.parametrize("expression", FALSE_CASES)
def test_false(expression: str) -> None:
    assert check(expression) is False


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("attribute_not_exists(id)", True), ("attribute_exists(id)", False), ("n <> :n5", True), ("n = :n5", False)],
)
def test_condition_on_missing_item(expression: str, expected: bool) -> None:
    assert check(expression, None) is expected
    assert check(expression, {}) is expected


def _error(expression: str, names: dict | None = None, values: dict | None = None, kind: str = "ConditionExpression"):
    context = ExpressionContext(NAMES if names is None else names, VALUES if values is None else values)
    with pytest.raises(DynamoValidationError) as exc:
        context.condition(expression, kind)
    return exc.value.message


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        # syntax
        ("n = = :n1", 'Syntax error; token: "=", near: "= = :n1"'),
        ("n =", 'Syntax error; token: "<EOF>", near: "="'),
        ("n", 'Syntax error; token: "<EOF>", near: "n"'),
        ("= :n1", 'Syntax error; token: "=", near: "= :n1"'),
        ("n = :n1 AND", 'Syntax error; token: "<EOF>", near: "AND"'),
        ("n = :n1 s = :s", 'Syntax error; token: "s", near: ":n1 s ="'),
        ("n == :n1", 'Syntax error; token: "=", near: "== :n1"'),
        ("n != :n1", 'Syntax error; token: "!", near: "n !="'),
        ("(n = :n1", 'Syntax error; token: "<EOF>", near: ":n1"'),
        ("n = :n1)", 'Syntax error; token: ")", near: ":n1)"'),
        ("n BETWEEN :n1 :n2", 'Syntax error; token: ":n2", near: ":n1 :n2"'),
        ("n BETWEEN :n1 OR :n2", 'Syntax error; token: "OR", near: ":n1 OR :n2"'),
        ("n IN :n1", 'Syntax error; token: ":n1", near: "IN :n1"'),
        ("n IN ()", 'Syntax error; token: ")", near: "()"'),
        ("l[x] = :n1", 'Syntax error; token: "x", near: "[x]"'),
        ("l[-1] = :n1", 'Syntax error; token: "-", near: "[-1"'),
        ("l[] = :n1", 'Syntax error; token: "]", near: "[] ="'),
        ("m. = :n1", 'Syntax error; token: "=", near: ". = :n1"'),
        ("n = :n1 AND AND s = :s", 'Syntax error; token: "AND", near: "AND AND s"'),
        ("NOT", 'Syntax error; token: "<EOF>", near: "NOT"'),
        ("n = :", 'Syntax error; token: ":", near: "= :"'),
        ("n = #", 'Syntax error; token: "#", near: "= #"'),
        ("n = 5", 'Syntax error; token: "5", near: "= 5"'),
        ("n + :n1 = :n2", 'Syntax error; token: "+", near: "n + :n1"'),
        ("size(s)", 'Syntax error; token: "<EOF>", near: ")"'),
        ("   ", "The expression can not be empty;"),
        ("", "The expression can not be empty;"),
        # functions
        ("foo(n)", "Invalid function name; function: foo"),
        ("ATTRIBUTE_EXISTS(n)", "Invalid function name; function: ATTRIBUTE_EXISTS"),
        (
            "list_append(l, :list) = :list",
            "The function is not allowed in a condition expression; function: list_append",
        ),
        (
            "if_not_exists(n, :n1) = :n1",
            "The function is not allowed in a condition expression; function: if_not_exists",
        ),
        (
            "attribute_exists(n, s)",
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, "
            "number of operands: 2",
        ),
        (
            "begins_with(s)",
            "Incorrect number of operands for operator or function; operator or function: begins_with, "
            "number of operands: 1",
        ),
        (
            "size(s, n) = :n1",
            "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2",
        ),
        (
            "attribute_exists(:n1)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        ("begins_with(:s, :hello)", "Operator or function requires a document path; operator or function: begins_with"),
        ("contains(:ss, :a)", "Operator or function requires a document path; operator or function: contains"),
        ("size(:s) = :n1", "Operator or function requires a document path; operator or function: size"),
        ("size(size(s)) = :n1", "Operator or function requires a document path; operator or function: size"),
        (
            "attribute_exists(n) = :true",
            "The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        (
            "n = contains(s, :a)",
            "The function is not allowed to be used this way in an expression; function: contains",
        ),
        (
            "n IN (begins_with(s, :a))",
            "The function is not allowed to be used this way in an expression; function: begins_with",
        ),
        # operand types known at bind time
        (
            "begins_with(s, :n1)",
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "begins_with(s, :ss)",
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: SS",
        ),
        (
            "attribute_type(s, :n1)",
            "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
        ),
        (
            "attribute_type(s, :hello)",
            "Invalid attribute type name found; type: hello, valid types: { B; NULL; SS; BOOL; L; BS; N; NS; S; M }",
        ),
        ("n < :list", "Incorrect operand type for operator or function; operator or function: <, operand type: L"),
        ("n >= :map", "Incorrect operand type for operator or function; operator or function: >=, operand type: M"),
        (":true > n", "Incorrect operand type for operator or function; operator or function: >, operand type: BOOL"),
        (
            "n BETWEEN :ss AND :n1",
            "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: SS",
        ),
        (
            "n BETWEEN :n5 AND :n1",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
            "lower operand: AttributeValue: {N:5}, upper operand: AttributeValue: {N:1}",
        ),
        (
            "s BETWEEN :x AND :a",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
            "lower operand: AttributeValue: {S:x}, upper operand: AttributeValue: {S:a}",
        ),
        # reserved words, any case
        ("status = :a", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("Status = :a", "Attribute name is a reserved keyword; reserved keyword: Status"),
        ("m.name = :a", "Attribute name is a reserved keyword; reserved keyword: name"),
        ("attribute_exists(data)", "Attribute name is a reserved keyword; reserved keyword: data"),
        ("n IN (:n1, size)", "Attribute name is a reserved keyword; reserved keyword: size"),
        ("l[0].VALUE = :a", "Attribute name is a reserved keyword; reserved keyword: VALUE"),
        # placeholders
        ("#nope = :a", "An expression attribute name used in the document path is not defined; attribute name: #nope"),
        ("n = :nope", "An expression attribute value used in expression is not defined; attribute value: :nope"),
        (
            "m.#nope = :a",
            "An expression attribute name used in the document path is not defined; attribute name: #nope",
        ),
        # limits
        (
            "n IN (" + ", ".join([":n1"] * 101) + ")",
            "The expression contains too many operands for the IN operator; number of operands: 101",
        ),
        (
            "a" + ".a" * 32 + " = :n1",
            "The document path has too many nesting levels; nesting levels: 33",
        ),
        (
            "n = :n1" + " OR n = :n1" * 400,
            "Expression size has exceeded the maximum allowed size; expression size: 4407",
        ),
    ],
)
def test_errors(expression: str, message: str) -> None:
    assert _error(expression) == "Invalid ConditionExpression: " + message


def test_in_accepts_100_operands_and_32_levels() -> None:
    assert check("n IN (" + ", ".join([":n1"] * 99 + [":n10"]) + ")")
    assert not check("a" + ".a" * 31 + " = :n1")


def test_filter_expression_prefix() -> None:
    assert _error("n = = :n1", kind="FilterExpression").startswith("Invalid FilterExpression: Syntax error;")
    assert _error("status = :a", kind="FilterExpression") == (
        "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: status"
    )


def test_names_are_reported_before_values() -> None:
    message = _error("#nope = :nope", names={"#x": "x"}, values={":x": {"S": "x"}})
    assert "attribute name: #nope" in message


@pytest.mark.parametrize(
    ("names", "values", "expression", "message"),
    [
        (
            {"#s": "s", "#unused": "u"},
            None,
            "attribute_exists(#s)",
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}",
        ),
        (
            None,
            {":a": {"S": "a"}, ":x": {"S": "x"}, ":y": {"S": "y"}},
            "s = :a",
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x, :y}",
        ),
    ],
)
def test_unused_placeholders(names: dict | None, values: dict | None, expression: str, message: str) -> None:
    context = ExpressionContext(names, values)
    context.condition(expression)
    with pytest.raises(DynamoValidationError) as exc:
        context.check_unused()
    assert exc.value.message == message


def test_placeholders_used_across_expressions_of_a_request() -> None:
    context = ExpressionContext({"#p": "p", "#q": "q"}, {":a": {"S": "a"}, ":b": {"S": "b"}})
    context.condition("#p = :a", "FilterExpression")
    context.projection("#q")
    context.update("SET x = :b")
    context.check_unused()


@pytest.mark.parametrize(
    ("names", "values", "message"),
    [
        ({}, None, "ExpressionAttributeNames must not be empty"),
        (None, {}, "ExpressionAttributeValues must not be empty"),
        ({"n": "x"}, None, 'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"'),
        (None, {"v": {"S": "x"}}, 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'),
        (None, {":v-1": {"S": "x"}}, 'ExpressionAttributeValues contains invalid key: Syntax error; key: ":v-1"'),
        (
            None,
            {":v": {"SS": []}},
            "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
            "An string set  may not be empty for key :v",
        ),
        (
            None,
            {":v": {"N": "abc"}},
            "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric "
            "value: abc for key :v",
        ),
    ],
)
def test_placeholder_map_errors(names: dict | None, values: dict | None, message: str) -> None:
    with pytest.raises(DynamoValidationError) as exc:
        ExpressionContext(names, values)
    assert exc.value.message == message


def test_reserved_words_list() -> None:
    assert len(RESERVED_WORDS) == 573
    for word in ("status", "NAME", "Data", "size", "year", "ttl", "owner", "count", "timestamp"):
        assert is_reserved(word)
    for word in ("id", "pk", "sk", "email", "price", "title"):
        assert not is_reserved(word)


@pytest.mark.parametrize("word", sorted(RESERVED_WORDS)[::23])
def test_every_sampled_reserved_word_is_rejected_and_escapable(word: str) -> None:
    message = _error(f"{word.lower()} = :a", values={":a": {"S": "a"}})
    if word in ("AND", "OR", "NOT", "BETWEEN", "IN"):
        assert "Syntax error" in message
    else:
        assert message.endswith(f"reserved keyword: {word.lower()}")
    context = ExpressionContext({"#w": word.lower()}, {":a": {"S": "a"}})
    assert context.condition("#w = :a")({word.lower(): {"S": "a"}})


def test_parse_is_cached() -> None:
    assert parse_condition("n = :n1 AND s = :s") is parse_condition("n = :n1 AND s = :s")


def test_evaluation_does_not_mutate_the_item() -> None:
    item = {"l": {"L": [{"S": "x"}]}}
    snapshot = repr(item)
    check("contains(l, :x) AND size(l) = :n1", item)
    assert repr(item) == snapshot
