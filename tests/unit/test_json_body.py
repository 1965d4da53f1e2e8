"""A request body is parsed once, and refuses all that a strict parser and a parser with
checks for duplicate keys and numbers out of range refuse together.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.contract.validation import ValidationFailed
from adapters.http.inputs import parse_json


def _reference_unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(keys)
    return dict(pairs)


def _reference_finite(text: str) -> float:
    if not math.isfinite(number := float(text)):
        raise ValueError(text)
    return number


def _reference_constant(name: str) -> None:
    raise ValueError(name)


_REFERENCE = json.JSONDecoder(
    object_pairs_hook=_reference_unique,
    parse_float=_reference_finite,
    parse_constant=_reference_constant,
)


def reference(raw: bytes) -> tuple[bool, Any]:
    """What a body meant when it was read twice: by orjson (strict about UTF-8, surrogates,
    numbers and depth) and by the standard library with checks (duplicate keys, NaN)."""
    try:
        orjson.loads(raw)
        return True, _REFERENCE.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return False, None


def parsed(raw: bytes) -> tuple[bool, Any]:
    """The body read once, or (False, None) for the one refusal a malformed body gets."""
    try:
        return True, parse_json(raw)
    except ValidationFailed as failure:
        refusal = (failure.errors, str(failure).startswith("malformed JSON: "))
        if refusal != ([{"field": "", "message": "is not valid JSON"}], True):
            raise
        return False, None


REJECTED = [
    pytest.param(b'{"a": 1, "a": 2}', "duplicate key 'a'", id="duplicate-key"),
    pytest.param(b'{"title": 1, "t\\u0069tle": 2}', "duplicate key 'title'", id="escaped-dup"),
    pytest.param(b'{"x": {"k": 1, "k": 1}}', "duplicate key 'k'", id="nested-duplicate"),
    pytest.param(b'{"a": NaN}', "NaN is not JSON", id="NaN"),
    pytest.param(b"[-Infinity]", "-Infinity is not JSON", id="minus-Infinity"),
    pytest.param(b'{"a": 1e400}', "number out of range: 1e400", id="1e400"),
    pytest.param(b"-1.5E+309", "number out of range: -1.5E+309", id="-1.5E+309"),
    pytest.param(b"9" * 400, "number out of range: " + "9" * 20, id="400-digit-integer"),
    pytest.param(b"1" * 20_000, "number out of range: " + "1" * 20, id="20000-digits"),
    pytest.param(b'{"t": "\\ud800"}', "lone surrogate in a string", id="lone-high"),
    pytest.param(b'{"t": "\\udc00\\ud800"}', "lone surrogate in a string", id="low-then-high"),
    pytest.param(b'{"\\udfff": 1}', "lone surrogate in a string", id="in-a-key"),
    pytest.param(b'[["a", "\\ud83d"]]', "lone surrogate in a string", id="in-an-array"),
    pytest.param(b'{"t": "\xed\xa0\x80"}', "not valid UTF-8", id="encoded-surrogate"),
    pytest.param(b'{"t": "caf\xc3"}', "not valid UTF-8", id="cut-sequence"),
    pytest.param(b"\xef\xbb\xbf{}", "Expecting value", id="byte-order-mark"),
    pytest.param(b"[1,]", "Expecting value", id="trailing-comma"),
    pytest.param(b"{} x", "Extra data", id="extra-data"),
    pytest.param(b"", "Expecting value", id="empty"),
    pytest.param(b'"a\x01b"', "Invalid control character", id="control-character"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "maximum recursion depth", id="5000-deep"),
]


@pytest.mark.parametrize(("raw", "detail"), REJECTED)
def test_a_malformed_body_is_refused_with_what_is_wrong(raw: bytes, detail: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_json(raw)

    assert refused.value.errors == [{"field": "", "message": "is not valid JSON"}]
    assert str(refused.value).startswith(f"malformed JSON: {detail}")
    assert reference(raw) == (False, None)


ACCEPTED = [
    pytest.param(b'{"t": "\\ud83d\\ude00"}', {"t": "\U0001f600"}, id="surrogate-pair"),
    pytest.param(b'{"t": "\\\\ud800"}', {"t": "\\ud800"}, id="escaped-backslash"),
    pytest.param(b'{"t": "caf\\u00e9"}', {"t": "café"}, id="escaped-letter"),
    pytest.param(b"1" * 30, int("1" * 30), id="30-digit-integer"),
    pytest.param(b"1e308", 1e308, id="1e308"),
    pytest.param(b"1e-400", 0.0, id="underflow"),
    pytest.param(b' \t\r\n{"a": [true, false, null]} ', {"a": [True, False, None]}, id="spaces"),
    pytest.param(b"[" * 200 + b"]" * 200, "200 nested lists", id="200-deep"),
]


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(("raw", "value"), ACCEPTED)
def test_a_well_formed_body_is_read_as_it_says(raw: bytes, value: Any) -> None:
    result = parse_json(raw)

    assert result == (nested(200) if value == "200 nested lists" else value)
    assert reference(raw) == (True, result)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**330), max_value=10**330)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, exclude_categories=())),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(codec=None, exclude_categories=())), children)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_any_json_value_is_refused_or_read_as_reading_it_twice_did(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    raw = text.encode("utf-8", errors="surrogatepass")

    assert parsed(raw) == reference(raw)


# Bytes near JSON: brackets, numbers, escapes, constants, stray bytes, repeated keys.
_NEAR_JSON = st.lists(
    st.sampled_from(
        [
            "{", "}", "[", "]", ",", ":", '"', '"a"', '"a": 1', "1", "-", "0", ".5", "e400",
            "1e-9", "9" * 25, "true", "null", "NaN", "Infinity", " ", "\\", "\\u", "d800",
            "\\ud83d\\ude00", "\\udc00", "\x01", "\xe9",
        ]
    ),
    max_size=14,
).map(lambda parts: "".join(parts).encode("utf-8"))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_NEAR_JSON | st.binary(max_size=40))
@example(b'{"a": 1, "a": 1}')
@example(b'"\\ud800"')
def test_any_bytes_are_refused_or_read_as_reading_them_twice_did(raw: bytes) -> None:
    assert parsed(raw) == reference(raw)
