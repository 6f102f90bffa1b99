"""Range header parsing against the rules of RFC 9110 section 14."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfp.http.ranges import ByteRange, Unsatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 100, ByteRange(0, 0)),
        ("bytes=-1", 100, ByteRange(99, 99)),
        ("bytes=10-", 100, ByteRange(10, 99)),
        ("bytes=10-500", 100, ByteRange(10, 99)),
        ("bytes=-500", 100, ByteRange(0, 99)),
        ("bytes= 5 - 9", 100, ByteRange(5, 9)),
    ],
)
def test_single_ranges_select_the_right_bytes(header: str, size: int, expected: ByteRange) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header", [None, "", "bytes=5-4", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=a-b"]
)
def test_ignored_ranges_mean_the_whole_file(header: str | None) -> None:
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-5", 0)]
)
def test_ranges_outside_the_file_are_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


@given(size=st.integers(1, 10**12), start=st.integers(0, 10**12), length=st.integers(1, 10**12))
def test_a_satisfiable_range_always_lies_inside_the_file(
    size: int, start: int, length: int
) -> None:
    header = f"bytes={start}-{start + length - 1}"
    if start >= size:
        with pytest.raises(Unsatisfiable):
            parse_range(header, size)
        return
    byte_range = parse_range(header, size)
    assert byte_range is not None
    assert 0 <= byte_range.start <= byte_range.end < size
    assert byte_range.content_range(size) == f"bytes {byte_range.start}-{byte_range.end}/{size}"
