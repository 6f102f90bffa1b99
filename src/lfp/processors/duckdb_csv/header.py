"""The header of a CSV input, read and checked before any query runs.

Also how messages name a column (`quoted`), which every module reporting on the input
shares, and the message for bytes that are not UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from lfp.processors.base import ProcessorError

NOT_UTF8 = "invalid UTF-8 bytes (the file must be UTF-8 text)"

_HEADER_LIMIT = 1 << 20
_BOM = b"\xef\xbb\xbf"


def quoted(name: str) -> str:
    """A column name as a message quotes it."""
    return f'"{name}"'


@dataclass(frozen=True)
class CsvHeader:
    """The first record of a CSV: its column names and how many lines it spans."""

    names: tuple[str, ...]
    lines: int = 1

    def position(self, name: str) -> int:
        """The 1-based position of column `name`; ProcessorError if absent or ambiguous."""
        found = [i for i, n in enumerate(self.names, start=1) if n == name]
        if not found:
            raise self._missing([name])
        if len(found) > 1:
            raise ProcessorError(
                f"column {quoted(name)} appears {len(found)} times in the header (line 1), "
                f"at positions {', '.join(map(str, found))}"
            )
        return found[0]

    def require(self, names: Iterable[str]) -> None:
        """ProcessorError unless each of `names` is one column of the header, naming any not."""
        wanted = list(dict.fromkeys(names))
        missing = [n for n in wanted if n not in self.names]
        if missing:
            raise self._missing(missing)
        for name in wanted:
            self.position(name)

    def describe(self) -> str:
        """The names as a message lists them."""
        return ", ".join(quoted(n) for n in self.names) or "no columns"

    def _missing(self, names: list[str]) -> ProcessorError:
        listed = ", ".join(quoted(n) for n in names)
        subject = f"column {listed} is" if len(names) == 1 else f"columns {listed} are"
        return ProcessorError(f"{subject} not in the header (line 1), which has: {self.describe()}")


def read_header(open_input: Callable[[], IO[bytes]], delimiter: str) -> CsvHeader:
    """The header of the CSV `open_input` opens (UTF-8, optional BOM); ProcessorError if not.

    Read here rather than by DuckDB so a wrong header is reported before any work starts,
    and so the queries can name columns by position whatever the header holds.
    """
    with open_input() as source:
        raw = source.read(_HEADER_LIMIT + 1)
    raw = raw.removeprefix(_BOM)
    if not raw.strip(b"\r\n"):
        raise ProcessorError("the file is empty: line 1 must be a header naming the columns")
    record = _first_record(raw)
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = 1 + record.count(b"\n", 0, exc.start)
        raise ProcessorError(f"line {line}: {NOT_UTF8}") from None
    text = text.removesuffix("\n").removesuffix("\r")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise ProcessorError(f"line 1 (the header) is not valid CSV: {exc}") from None
    if not rows or not rows[0]:
        raise ProcessorError("line 1 is empty: it must be a header naming the columns")
    return CsvHeader(names=tuple(rows[0]), lines=1 + text.count("\n"))


def _first_record(raw: bytes) -> bytes:
    """The bytes of the first record: up to the first line end outside quotes."""
    start = 0
    while (end := raw.find(b"\n", start)) >= 0:
        # RFC 4180 quotes come in pairs ("" inside a value is two): an even count means
        # this line end is not inside a quoted value.
        if raw.count(b'"', 0, end) % 2 == 0:
            return raw[: end + 1]
        start = end + 1
    if len(raw) > _HEADER_LIMIT:
        raise ProcessorError(f"line 1 (the header) is longer than {_HEADER_LIMIT} bytes")
    return raw
