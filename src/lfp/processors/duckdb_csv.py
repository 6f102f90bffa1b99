"""DuckDB plumbing the CSV processors share.

What every CSV processor needs besides its own query: the input's header checked before
any work starts, a DuckDB connection confined to the job's memory, threads and scratch
space, the input read strictly as RFC 4180 with each row checked, progress and cancel while
one long query runs, and a bad input turned into a `ProcessorError` that names the line
(1-based, the header is line 1) and the column.

Checking costs a good file no extra read: a bad value fails the query that meets it, and
only then does a second, slower pass find where (`CsvSource.explain`).
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from lfp.processors.base import JobCancelled, JobContext, ProcessorError

CSV_CONTENT_TYPE = "text/csv"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

# How often a running query's progress is read (and a cancel noticed, should the interrupt
# have come before DuckDB started the query).
PROGRESS_INTERVAL = 0.2

_HEADER_LIMIT = 1 << 20
_READ_BLOCK = 4 << 20
_BOM = b"\xef\xbb\xbf"
# The message of the error() a checked scan raises on a bad row; only ever read by us.
_BAD_ROW = "lfp: a row failed its check"
_SHOWN_VALUE = 80


# -- SQL text -----------------------------------------------------------------------------


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_name(value: str) -> str:
    """`value` as a quoted SQL identifier (any text: a header's names are arbitrary)."""
    return '"' + value.replace('"', '""') + '"'


# -- the header ---------------------------------------------------------------------------


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
                f"column {_quoted(name)} appears {len(found)} times in the header (line 1), "
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
        return ", ".join(_quoted(n) for n in self.names) or "no columns"

    def _missing(self, names: list[str]) -> ProcessorError:
        listed = ", ".join(_quoted(n) for n in names)
        subject = f"column {listed} is" if len(names) == 1 else f"columns {listed} are"
        return ProcessorError(f"{subject} not in the header (line 1), which has: {self.describe()}")


def read_header(path: Path, delimiter: str) -> CsvHeader:
    """The header of the CSV at `path` (UTF-8, optional BOM); ProcessorError if unreadable.

    Read here rather than by DuckDB so a wrong header is reported before any work starts,
    and so the queries can name columns by position whatever the header holds.
    """
    with open(path, "rb") as source:
        raw = source.read(_HEADER_LIMIT + 1)
    raw = raw.removeprefix(_BOM)
    if not raw.strip(b"\r\n"):
        raise ProcessorError("the file is empty: line 1 must be a header naming the columns")
    record = _first_record(raw)
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = 1 + record.count(b"\n", 0, exc.start)
        raise ProcessorError(f"line {line}: {_NOT_UTF8}") from None
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


# -- the input as DuckDB reads it ---------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """A column DuckDB's reader converts to a type, rejecting values that do not convert."""

    sql_type: str
    expected: str  # what a value should be, for messages: "a date written YYYY-MM-DD"


@dataclass(frozen=True)
class Check:
    """A rule every value of a column must meet, beyond what its reader type enforces."""

    column: str
    ok: Callable[[str], str]  # the column's SQL expression -> SQL true for a good value
    expected: str  # what a value should be, for messages


@dataclass(frozen=True)
class CsvSource:
    """A CSV input as DuckDB reads it: strict RFC 4180, typed columns, checked rows.

    Columns are named by position (`c1`, `c2`, …) in SQL, whatever the header says; use
    `column(name)`. Columns not in `types` are read as text (NULL when empty).
    """

    path: Path
    header: CsvHeader
    delimiter: str = ","
    types: Mapping[str, Typed] = field(default_factory=dict)
    checks: Sequence[Check] = ()
    date_format: str | None = None

    def column(self, name: str) -> str:
        """The SQL identifier of column `name`."""
        return f"c{self.header.position(name)}"

    def scan(self, *, rejects: bool = False) -> str:
        """The `read_csv(...)` call reading every row (typed, not checked)."""
        types = {f"c{self.header.position(n)}": t.sql_type for n, t in self.types.items()}
        columns = ", ".join(
            f"{sql_string(f'c{i}')}: {sql_string(types.get(f'c{i}', 'VARCHAR'))}"
            for i in range(1, len(self.header.names) + 1)
        )
        options = [
            sql_string(str(self.path)),
            "header = true",
            "auto_detect = false",  # every option is set: nothing guessed from a sample
            f"delim = {sql_string(self.delimiter)}",
            "quote = '\"'",
            "escape = '\"'",
            "comment = ''",  # a row beginning with # is data, not a comment
            "strict_mode = true",
            f"columns = {{{columns}}}",
        ]
        if self.date_format is not None:
            options.append(f"dateformat = {sql_string(self.date_format)}")
        if rejects:
            # The first rejects in the file are enough to explain it.
            options.append("store_rejects = true, rejects_limit = 100")
        return f"read_csv({', '.join(options)})"

    def rows(self) -> str:
        """Every row, as a relation; a query reading it fails at the first row a check refuses."""
        if not self.checks:
            return self.scan()
        return (
            f"(SELECT * FROM {self.scan()} "
            f"WHERE CASE WHEN {' AND '.join(self._oks())} "
            f"THEN true ELSE error({sql_string(_BAD_ROW)}) END)"
        )

    def explain(self, connection: duckdb.DuckDBPyConnection) -> ProcessorError | None:
        """What is wrong with the input and where, found by a second pass; None if nothing.

        For after a query over `rows()` failed; it leaves the connection on one thread.
        The reader's own rejects (ragged rows, quotes, encoding, values its types refuse)
        come with their byte offsets; a row a check refuses is found by its number, so
        this pass keeps the file's order. The earlier of the two is the answer.
        """
        connection.execute("SET preserve_insertion_order = true")
        connection.execute("SET threads = 1")
        bad_row = self._first_bad_row(connection)
        try:
            reject = connection.execute(
                "SELECT line_byte_position, column_name, error_type, error_message "
                "FROM reject_errors ORDER BY line_byte_position, byte_position LIMIT 1"
            ).fetchone()
        except duckdb.CatalogException:
            reject = None  # the scan met no reject at all
        bad_line = None if bad_row is None else self._line_of_row(bad_row[0], bad_row[1])
        if reject is not None:
            reject_line = _line_at(self.path, int(reject[0]))
            # Rows the reader rejected are not numbered, so a bad row after them seems
            # earlier than it is, but never earlier than the first of them.
            if bad_line is None or reject_line <= bad_line:
                return self._reject_error(reject_line, *reject[1:])
        if bad_row is not None and bad_line is not None:
            return self._check_error(bad_line, bad_row)
        return None

    def _oks(self) -> list[str]:
        # NULL (e.g. a check on an empty value) counts as a failed check.
        return [f"coalesce(({c.ok(self.column(c.column))}), false)" for c in self.checks]

    def _first_bad_row(self, connection: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
        # Line ends inside quoted values make a row span several lines: the running count
        # of them turns the bad row's number into its line.
        text = [f"CAST(c{i} AS VARCHAR)" for i in range(1, len(self.header.names) + 1)]
        newlines = " + ".join(
            f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in text
        )
        values = [f"CAST({self.column(c.column)} AS VARCHAR)" for c in self.checks]
        oks = self._oks()
        # Without checks no row is bad, yet every row must be read for its rejects: rn = 0
        # never holds, but unlike `false` the planner cannot drop the scan for it.
        bad = f"NOT ({' AND '.join(oks)})" if oks else "rn = 0"
        # fetchall, not fetchone: the rejects are recorded only once the query completes.
        rows = connection.execute(
            f"SELECT {', '.join(['rn', 'before', *oks, *values])} FROM ("
            "SELECT row_number() OVER () AS rn, "
            "sum(nl) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - nl AS before, * "
            f"FROM (SELECT *, {newlines} AS nl FROM {self.scan(rejects=True)})"
            # Not stopping at the first bad row: the scan must reach every reject before it.
            f") WHERE {bad} ORDER BY rn LIMIT 1"
        ).fetchall()
        return rows[0] if rows else None

    def _check_error(self, line: int, row: tuple[Any, ...]) -> ProcessorError:
        count = len(self.checks)
        failed = next(i for i, ok in enumerate(row[2 : 2 + count]) if not ok)
        check, value = self.checks[failed], row[2 + count + failed]
        return ProcessorError(
            f"line {line}, column {_quoted(check.column)}: "
            f"expected {check.expected}, found {_shown(value)}"
        )

    def _reject_error(
        self, line: int, column: str | None, kind: str, message: str
    ) -> ProcessorError:
        name = self._name_of(column)
        where = f"line {line}, column {_quoted(name)}" if name else f"line {line}"
        names, found = self.header.names, _found_fields(message)
        if kind == "CAST":
            typed = self.types.get(name or "")
            expected = typed.expected if typed else "a value of another type"
            value = re.search(r'Could not convert string "(.*)" to \'', message, re.DOTALL)
            shown = _shown(value.group(1)) if value else "a value that does not convert"
            return ProcessorError(f"{where}: expected {expected}, found {shown}")
        if kind == "MISSING COLUMNS" and found is not None and found < len(names):
            return ProcessorError(
                f"line {line}: {found} field(s) where the header has {len(names)}, "
                f"so column {_quoted(names[found])} is missing"
            )
        if kind == "TOO MANY COLUMNS" and found is not None:
            return ProcessorError(
                f"line {line}: {found} fields where the header has {len(names)}; "
                f"there is more after the last column {_quoted(names[-1])}"
            )
        if kind == "UNQUOTED VALUE":
            return ProcessorError(
                f"{where}: a quoted value is not closed properly "
                "(its closing quote is missing, or text follows it)"
            )
        if kind == "INVALID ENCODING":
            return ProcessorError(f"{where}: {_NOT_UTF8}")
        return ProcessorError(f"{where}: {message}")

    def _name_of(self, column: str | None) -> str | None:
        """The header name of a column DuckDB names by its SQL identifier (`c3`)."""
        match = re.fullmatch(r"c(\d+)", column or "")
        if match and 1 <= int(match.group(1)) <= len(self.header.names):
            return self.header.names[int(match.group(1)) - 1]
        return None

    def _line_of_row(self, number: int, newlines_before: int) -> int:
        """The line data row `number` (1-based) starts on."""
        # DuckDB skips blank lines, which are lines all the same; only a walk through the
        # file counts them. (With a single column a blank line is a row: no walk needed.)
        if len(self.header.names) > 1 and _has_blank_line(self.path):
            walked = self._walk_to_row(number)
            if walked is not None:
                return walked
        return self.header.lines + number + newlines_before

    def _walk_to_row(self, number: int) -> int | None:
        try:
            with open(self.path, encoding="utf-8-sig", newline="") as text:
                reader = csv.reader(text, delimiter=self.delimiter)
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


_NOT_UTF8 = "invalid UTF-8 bytes (the file must be UTF-8 text)"


def _quoted(name: str) -> str:
    return f'"{name}"'


def _shown(value: str | None) -> str:
    """A value as a message quotes it: short, and empty values named as such."""
    if value is None or value == "":
        return "an empty value"
    if len(value) > _SHOWN_VALUE:
        value = value[:_SHOWN_VALUE] + "…"
    return f'"{value}"'


def _found_fields(message: str) -> int | None:
    match = re.search(r"Found: (\d+)", message)
    return int(match.group(1)) if match else None


def _line_at(path: Path, position: int) -> int:
    """The line of the row DuckDB's reader says begins at byte `position`."""
    with open(path, "rb") as source:
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


def _has_blank_line(path: Path) -> bool:
    """Whether the file holds an empty line (possibly inside a quoted value)."""
    with open(path, "rb") as source:
        tail = b""
        while block := source.read(_READ_BLOCK):
            # Two bytes carried over so a blank line across a block boundary is seen.
            window = tail + block
            if b"\n\n" in window or b"\n\r\n" in window:
                return True
            tail = window[-2:]
    return False


# -- running queries ----------------------------------------------------------------------


class Engine:
    """A DuckDB connection for one job: its limits, its scratch space, progress and cancel.

    Queries spill to the job's scratch folder rather than growing past its memory limit, and
    stop when the job is cancelled. Use it as a context manager.
    """

    def __init__(self, job: JobContext) -> None:
        self._job = job
        self._lock = threading.Lock()
        self._closed = False
        spill = job.scratch_dir / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        self.connection = duckdb.connect()  # in memory: tables live only for this job
        settings = (
            f"SET memory_limit = {sql_string(job.memory_limit)}",
            f"SET threads = {int(job.threads)}",
            f"SET temp_directory = {sql_string(str(spill))}",
            # Rows need no order until an ORDER BY: without it DuckDB streams and spills
            # freely instead of buffering to keep the file's order.
            "SET preserve_insertion_order = false",
            # Progress is tracked only with the progress bar on; it must not print.
            "SET enable_progress_bar = true",
            "SET enable_progress_bar_print = false",
        )
        try:
            for setting in settings:
                self.connection.execute(setting)
        except BaseException:
            self.connection.close()
            raise
        job.on_cancel(self._interrupt)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a cancel arriving later is ignored)."""
        with self._lock:
            self._closed = True
            self.connection.close()

    def run(
        self,
        sql: str,
        source: CsvSource | None = None,
        *,
        progress: tuple[float, float] | None = None,
    ) -> list[tuple[Any, ...]]:
        """The rows of `sql`; errors as a processor reports them.

        If the query reads `source`, a bad input raises ProcessorError naming its line and
        column. A cancel raises JobCancelled. `progress` is the share of the job the query
        covers, as fractions of the input's size, if its progress is to be reported.
        """
        self._job.check_cancelled()
        try:
            with self._polling(progress):
                rows = self.connection.execute(sql).fetchall()
        except duckdb.InterruptException:
            self._job.check_cancelled()
            raise
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            self._job.check_cancelled()
            error = self._explain(source, exc) if source is not None else None
            if error is None:
                raise
            raise error from None
        self._job.check_cancelled()
        if progress is not None:
            self._job.progress(int(self._job.input_size * progress[1]), self._job.input_size)
        return rows

    def _explain(self, source: CsvSource, exc: duckdb.Error) -> ProcessorError | None:
        try:
            found = source.explain(self.connection)
        except duckdb.InterruptException:
            self._job.check_cancelled()
            raise
        except duckdb.Error:
            found = None  # the input defeats the reader even when collecting rejects
        if found is not None:
            return found
        text = str(exc)
        if "CSV" not in text:
            return None  # not about the input: let it surface as the failure it is
        first = text.splitlines()[0].split(": ", 1)[-1]
        hint = ""
        if "state machine" in text:
            hint = " (are the line endings mixed? use LF or CRLF throughout)"
        return ProcessorError(f"the CSV cannot be read: {first}{hint}")

    def _interrupt(self) -> None:
        with self._lock:
            if not self._closed:
                self.connection.interrupt()

    @contextmanager
    def _polling(self, progress: tuple[float, float] | None) -> Iterator[None]:
        stop = threading.Event()
        poller = threading.Thread(
            target=self._poll, args=(stop, progress), name="lfp-duckdb-poll", daemon=True
        )
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()

    def _poll(self, stop: threading.Event, progress: tuple[float, float] | None) -> None:
        size, reported = self._job.input_size, -1
        while not stop.wait(PROGRESS_INTERVAL):
            try:
                self._job.check_cancelled()
            except JobCancelled:
                # An interrupt that came before DuckDB started the query is lost: repeat it.
                self._interrupt()
                return
            if progress is None:
                continue
            percent = self.connection.query_progress()
            if percent < 0:
                continue
            start, end = progress
            done = int(size * (start + (end - start) * min(percent, 100.0) / 100))
            if done > reported:
                reported = done
                self._job.progress(done, size)
