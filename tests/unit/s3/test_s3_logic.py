"""Table-driven tests of the pure S3 rules in serverless_lab.cloud.s3.logic."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from serverless_lab.cloud.s3 import logic


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("my-bucket", True),
        ("a.b.c", True),
        ("abc", True),
        ("x" * 63, True),
        ("1bucket", True),
        ("ab", False),
        ("x" * 64, False),
        ("My-Bucket", False),
        ("my_bucket", False),
        ("-start", False),
        ("end-", False),
        ("a..b", False),
        ("a.-b", False),
        ("a-.b", False),
        ("192.168.0.1", False),
        ("xn--abc", False),
        ("sthree-x", False),
        ("name-s3alias", False),
        ("bucket--ol-s3", False),
    ],
)
def test_bucket_name_rules(name, valid):
    assert (logic.bucket_name_problem(name) is None) is valid


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("a", True),
        ("../../etc/passwd", True),
        ("x" * 1024, True),
        ("é" * 512, True),
        ("", False),
        ("x" * 1025, False),
        ("é" * 513, False),
        ("a\x00b", False),
        ("\ud800", False),
    ],
)
def test_key_rules(key, valid):
    assert (logic.key_problem(key) is None) is valid


def _page(keys, **kwargs):
    page = logic.group_listing(sorted(keys), key_of=lambda k: k, **kwargs)
    return page.contents, page.common_prefixes, page.is_truncated, page.next_marker


KEYS = ["a", "b/1", "b/2", "c/x/1", "c/y", "d"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"prefix": "", "delimiter": "", "max_keys": 1000}, (KEYS, [], False, None)),
        ({"prefix": "", "delimiter": "/", "max_keys": 1000}, (["a", "d"], ["b/", "c/"], False, None)),
        ({"prefix": "", "delimiter": "/", "max_keys": 2}, (["a"], ["b/"], True, "b/")),
        ({"prefix": "", "delimiter": "/", "max_keys": 1, "after": "b/"}, ([], ["c/"], True, "c/")),
        ({"prefix": "", "delimiter": "/", "max_keys": 3, "after": "b/"}, (["d"], ["c/"], False, None)),
        ({"prefix": "", "delimiter": "", "max_keys": 2}, (["a", "b/1"], [], True, "b/1")),
        ({"prefix": "", "delimiter": "", "max_keys": 0}, ([], [], False, None)),
        ({"prefix": "", "delimiter": "", "max_keys": 6}, (KEYS, [], False, None)),
    ],
)
def test_group_listing(kwargs, expected):
    after = kwargs.get("after", "")
    assert _page([k for k in KEYS if k > after], **kwargs) == expected


def test_group_listing_with_a_prefix_rolls_up_below_it():
    keys = ["c/x/1", "c/x/2", "c/y"]
    assert _page(keys, prefix="c/", delimiter="/", max_keys=10) == (["c/y"], ["c/x/"], False, None)


def test_group_listing_with_a_multi_character_delimiter():
    assert _page(["a--b", "a--c", "ab"], prefix="", delimiter="--", max_keys=10) == (["ab"], ["a--"], False, None)


@pytest.mark.parametrize("marker", ["photos/", "naïve/😀", ""])
def test_continuation_tokens_round_trip(marker):
    assert logic.decode_continuation_token(logic.encode_continuation_token(marker)) == marker


@pytest.mark.parametrize("token", ["%%%", "\xff", "////"])
def test_foreign_continuation_tokens_are_rejected(token):
    assert logic.decode_continuation_token(token) is None


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, (0, 4)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("bytes=5-2", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("items=0-1", 10, None),
        ("bytes=-", 10, None),
        ("bytes=-5", 0, None),
    ],
)
def test_parse_range(header, size, expected):
    assert logic.parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=0-", 0), ("bytes=-0", 10)]
)
def test_unsatisfiable_ranges(header, size):
    with pytest.raises(logic.RangeNotSatisfiable):
        logic.parse_range(header, size)


NOW = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
BEFORE, AFTER = NOW - timedelta(hours=1), NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, None),
        ({"if_match": '"abc"'}, None),
        ({"if_match": '"x", "abc"'}, None),
        ({"if_match": "*"}, None),
        ({"if_match": '"x"'}, 412),
        ({"if_none_match": '"abc"'}, 304),
        ({"if_none_match": "*"}, 304),
        ({"if_none_match": 'W/"abc"'}, 304),
        ({"if_none_match": '"x"'}, None),
        ({"if_modified_since": BEFORE}, None),
        ({"if_modified_since": AFTER}, 304),
        ({"if_modified_since": NOW.replace(microsecond=0)}, 304),
        ({"if_unmodified_since": AFTER}, None),
        ({"if_unmodified_since": BEFORE}, 412),
        # If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since (RFC 7232 §6).
        ({"if_match": '"abc"', "if_unmodified_since": BEFORE}, None),
        ({"if_none_match": '"x"', "if_modified_since": AFTER}, None),
        ({"if_match": '"x"', "if_none_match": '"abc"'}, 412),
    ],
)
def test_evaluate_conditions(conditions, expected):
    assert logic.evaluate_conditions(etag="abc", last_modified=NOW, **conditions) == expected


def test_etags():
    assert logic.quote_etag("abc") == '"abc"'
    parts = [b"a" * 10, b"b" * 3]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert logic.multipart_etag([hashlib.md5(p).hexdigest() for p in parts]) == expected


def test_content_md5():
    digest = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    assert logic.content_md5_matches(digest, hashlib.md5(b"data").hexdigest())
    assert not logic.content_md5_matches(digest, hashlib.md5(b"other").hexdigest())
    assert not logic.content_md5_matches("not base64!", hashlib.md5(b"data").hexdigest())


RULES = [
    {
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["GET"],
        "AllowedHeaders": ["x-amz-*"],
        "MaxAgeSeconds": 60,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"], "ExposeHeaders": ["ETag"]},
]


@pytest.mark.parametrize(
    ("origin", "method", "headers", "allowed_origin"),
    [
        ("https://app.example.com", "GET", [], "https://app.example.com"),
        ("https://app.example.com", "GET", ["X-Amz-Date"], "https://app.example.com"),
        ("https://app.example.com", "GET", ["content-type"], None),
        ("https://evil.com", "GET", [], None),
        ("https://evil.com", "PUT", [], "*"),
        ("https://app.example.com", "DELETE", [], None),
    ],
)
def test_match_cors(origin, method, headers, allowed_origin):
    decision = logic.match_cors(RULES, origin=origin, method=method, request_headers=headers)
    assert (decision.headers["Access-Control-Allow-Origin"] if decision else None) == allowed_origin


def test_match_cors_headers():
    decision = logic.match_cors(RULES, origin="https://a.example.com", method="GET", request_headers=["x-amz-date"])
    assert decision is not None
    assert decision.headers["Access-Control-Max-Age"] == "60"
    assert decision.headers["Access-Control-Allow-Credentials"] == "true"
    assert decision.headers["Access-Control-Allow-Headers"] == "x-amz-date"


@pytest.mark.parametrize(
    ("patterns", "event", "expected"),
    [
        (["s3:ObjectCreated:*"], "s3:ObjectCreated:Put", True),
        (["s3:ObjectCreated:Put"], "s3:ObjectCreated:Copy", False),
        (["s3:ObjectRemoved:*"], "s3:ObjectRemoved:DeleteMarkerCreated", True),
        ([], "s3:ObjectCreated:Put", False),
    ],
)
def test_event_matches(patterns, event, expected):
    assert logic.event_matches(patterns, event) is expected


@pytest.mark.parametrize(
    ("rules", "key", "expected"),
    [
        ([], "any", True),
        ([{"Name": "Prefix", "Value": "up/"}], "up/a.jpg", True),
        ([{"Name": "prefix", "Value": "up/"}], "a.jpg", False),
        ([{"Name": "Suffix", "Value": ".jpg"}, {"Name": "Prefix", "Value": "up/"}], "up/a.png", False),
    ],
)
def test_filter_matches(rules, key, expected):
    assert logic.filter_matches(rules, key) is expected
