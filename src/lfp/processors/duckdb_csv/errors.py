"""What is wrong with a CSV input that failed a query, and where: line and column.

A query over `CsvSource.rows()` stops at the first bad value without saying where it is;
`explain` finds out in a second, slower pass, which only a bad input ever pays for.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from lfp.processors.base import ProcessorError
from lfp.processors.duckdb_csv.header import NOT_UTF8, quoted
from lfp.processors.duckdb_csv.lines import line_at, line_of_row
from lfp.processors.duckdb_csv.source import CsvSource

_SHOWN_VALUE = 80


def explain(source: CsvSource, connection: duckdb.DuckDBPyConnection) -> ProcessorError | None:
    """What is wrong with the input and where, found by a second pass; None if nothing.

    For after a query over `source.rows()` failed; it leaves the connection on one thread.
    The reader's own rejects (ragged rows, quotes, encoding, values its types refuse)
    come with their byte offsets; a row a check refuses is found by its number, so
    this pass keeps the file's order. The earlier of the two is the answer.
    """
    connection.execute("SET preserve_insertion_order = true")
    connection.execute("SET threads = 1")
    bad_row = _first_bad_row(source, connection)
    try:
        reject = connection.execute(
            "SELECT line_byte_position, column_name, error_type, error_message "
            "FROM reject_errors ORDER BY line_byte_position, byte_position LIMIT 1"
        ).fetchone()
    except duckdb.CatalogException:
        reject = None  # the scan met no reject at all
    bad_line = None
    if bad_row is not None:
        number, newlines_before = bad_row[0], bad_row[1]
        bad_line = line_of_row(
            source.input.open, source.header, source.delimiter, number, newlines_before
        )
    if reject is not None:
        reject_line = line_at(source.input.open, int(reject[0]))
        # Rows the reader rejected are not numbered, so a bad row after them seems
        # earlier than it is, but never earlier than the first of them.
        if bad_line is None or reject_line <= bad_line:
            return _reject_error(source, reject_line, *reject[1:])
    if bad_row is not None and bad_line is not None:
        return _check_error(source, bad_line, bad_row)
    return None


def _shown(value: str | None) -> str:
    """A value as a message quotes it: short, and empty values named as such."""
    if value is None or value == "":
        return "an empty value"
    if len(value) > _SHOWN_VALUE:
        value = value[:_SHOWN_VALUE] + "…"
    return f'"{value}"'


def _first_bad_row(
    source: CsvSource, connection: duckdb.DuckDBPyConnection
) -> tuple[Any, ...] | None:
    """The first row a check refuses: (number, newlines before it, each check, each value)."""
    # Line ends inside quoted values make a row span several lines: the running count
    # of them turns the bad row's number into its line.
    text = [f"CAST(c{i} AS VARCHAR)" for i in range(1, len(source.header.names) + 1)]
    newlines = " + ".join(
        f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in text
    )
    values = [f"CAST({source.column(c.column)} AS VARCHAR)" for c in source.checks]
    oks = source.oks()
    # Without checks no row is bad, yet every row must be read for its rejects: rn = 0
    # never holds, but unlike `false` the planner cannot drop the scan for it.
    bad = f"NOT ({' AND '.join(oks)})" if oks else "rn = 0"
    # fetchall, not fetchone: the rejects are recorded only once the query completes.
    rows = connection.execute(
        f"SELECT {', '.join(['rn', 'before', *oks, *values])} FROM ("
        "SELECT row_number() OVER () AS rn, "
        "sum(nl) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - nl AS before, * "
        f"FROM (SELECT *, {newlines} AS nl FROM {source.scan(rejects=True)})"
        # Not stopping at the first bad row: the scan must reach every reject before it.
        f") WHERE {bad} ORDER BY rn LIMIT 1"
    ).fetchall()
    return rows[0] if rows else None


def _check_error(source: CsvSource, line: int, row: tuple[Any, ...]) -> ProcessorError:
    """The error for a row (as `_first_bad_row` gives it) that fails a check."""
    count = len(source.checks)
    failed = next(i for i, ok in enumerate(row[2 : 2 + count]) if not ok)
    check, value = source.checks[failed], row[2 + count + failed]
    return ProcessorError(
        f"line {line}, column {quoted(check.column)}: "
        f"expected {check.expected}, found {_shown(value)}"
    )


def _reject_error(
    source: CsvSource, line: int, column: str | None, kind: str, message: str
) -> ProcessorError:
    """The error for a row DuckDB's reader rejected, from its reject_errors entry."""
    name = _name_of(source, column)
    where = f"line {line}, column {quoted(name)}" if name else f"line {line}"
    names, found = source.header.names, _found_fields(message)
    if kind == "CAST":
        typed = source.types.get(name or "")
        expected = typed.expected if typed else "a value of another type"
        value = re.search(r'Could not convert string "(.*)" to \'', message, re.DOTALL)
        found_value = _shown(value.group(1)) if value else "a value that does not convert"
        return ProcessorError(f"{where}: expected {expected}, found {found_value}")
    if kind == "MISSING COLUMNS" and found is not None and found < len(names):
        return ProcessorError(
            f"line {line}: {found} field(s) where the header has {len(names)}, "
            f"so column {quoted(names[found])} is missing"
        )
    if kind == "TOO MANY COLUMNS" and found is not None:
        return ProcessorError(
            f"line {line}: {found} fields where the header has {len(names)}; "
            f"there is more after the last column {quoted(names[-1])}"
        )
    if kind == "UNQUOTED VALUE":
        return ProcessorError(
            f"{where}: a quoted value is not closed properly "
            "(its closing quote is missing, or text follows it)"
        )
    if kind == "INVALID ENCODING":
        return ProcessorError(f"{where}: {NOT_UTF8}")
    return ProcessorError(f"{where}: {message}")


def _name_of(source: CsvSource, column: str | None) -> str | None:
    """The header name of a column DuckDB names by its SQL identifier (`c3`)."""
    names = source.header.names
    match = re.fullmatch(r"c(\d+)", column or "")
    if match and 1 <= int(match.group(1)) <= len(names):
        return names[int(match.group(1)) - 1]
    return None


def _found_fields(message: str) -> int | None:
    """How many fields a reject message says the row has."""
    match = re.search(r"Found: (\d+)", message)
    return int(match.group(1)) if match else None
