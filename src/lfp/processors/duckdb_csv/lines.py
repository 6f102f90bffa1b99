"""Where in the file a bad row is: DuckDB's byte offsets and row numbers made line numbers.

Lines are 1-based and the header is line 1, as every message about the input counts them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import IO

from lfp.processors.duckdb_csv.header import CsvHeader

Opener = Callable[[], IO[bytes]]

_READ_BLOCK = 4 << 20


def line_at(open_input: Opener, position: int) -> int:
    """The line of the row DuckDB's reader says begins at byte `position`."""
    with open_input() as source:
        # DuckDB's offset is that of the row's first byte or the byte after it (it differs
        # with the line ending and the buffer); a row never begins with a line end, so the
        # byte before the offset tells which.
        start = position
        if position > 0:
            source.seek(position - 1)
            if source.read(1) != b"\n":
                start = position - 1
        source.seek(0)
        newlines = 0
        while start > 0:
            block = source.read(min(_READ_BLOCK, start))
            if not block:
                break
            newlines += block.count(b"\n")
            start -= len(block)
    return newlines + 1


def line_of_row(
    open_input: Opener, header: CsvHeader, delimiter: str, number: int, newlines_before: int
) -> int:
    """The line data row `number` (1-based) starts on.

    `newlines_before` counts the line ends inside quoted values of the rows before it.
    """
    # DuckDB skips blank lines, which are lines all the same; only a walk through the
    # file counts them. (With a single column a blank line is a row: no walk needed.)
    if len(header.names) > 1 and _has_blank_line(open_input):
        walked = _walk_to_row(open_input, delimiter, number)
        if walked is not None:
            return walked
    return header.lines + number + newlines_before


def _walk_to_row(open_input: Opener, delimiter: str, number: int) -> int | None:
    """The line data row `number` starts on, by reading records up to it; None if unreadable."""
    try:
        with io.TextIOWrapper(open_input(), encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text, delimiter=delimiter)
            records = -1  # the header is record 0
            ended = 0  # the line the record before ended on
            for fields in reader:
                if fields:
                    records += 1
                    if records == number:
                        return ended + 1
                ended = reader.line_num
    except (csv.Error, UnicodeDecodeError):
        return None
    return None


def _has_blank_line(open_input: Opener) -> bool:
    """Whether the file holds an empty line (possibly inside a quoted value)."""
    with open_input() as source:
        tail = b""
        while block := source.read(_READ_BLOCK):
            # Two bytes carried over so a blank line across a block boundary is seen.
            window = tail + block
            if b"\n\n" in window or b"\n\r\n" in window:
                return True
            tail = window[-2:]
    return False
