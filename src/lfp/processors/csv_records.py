"""A CSV reader that names the line each record starts on, for messages about bad rows."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lfp.processors.base import ProcessorError

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: the line it starts on and its fields, or why it is not valid CSV."""

    line: int
    fields: list[str]
    error: str | None = None


class CsvRecords:
    """The records of an RFC 4180 CSV (UTF-8, optional BOM, CRLF or LF line ends), streamed.

    Quoted fields may hold commas, quotes and line breaks; each record names the line it
    starts on. A record that is not valid CSV comes with `error` set, and reading goes on
    with the next line. Blank lines are passed over. Bytes that are not UTF-8 raise
    `ProcessorError` naming the line. `bytes_read` tells how far the reading has got.
    """

    def __init__(self, open_input: Callable[[], IO[bytes]], delimiter: str = ",") -> None:
        self._open = open_input
        self.delimiter = delimiter
        self.bytes_read = 0
        self._lines_read = 0

    def __iter__(self) -> Iterator[Record]:
        with self._open() as source:
            reader = csv.reader(self._lines(source), delimiter=self.delimiter, strict=True)
            while True:
                line = self._lines_read + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Record(line, [], f"not valid CSV: {exc}")
                    continue
                if fields:
                    yield Record(line, fields)

    def _lines(self, source: Any) -> Iterator[str]:
        # Decoding line by line (not through a text wrapper that reads ahead) is what lets a
        # decoding error name its line.
        for raw in source:
            self._lines_read += 1
            self.bytes_read += len(raw)
            try:
                text: str = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ProcessorError(
                    f"line {self._lines_read}: not valid UTF-8 (byte {exc.start + 1} of the line)"
                ) from None
            if self._lines_read == 1:
                text = text.removeprefix(_BOM)
            yield text
