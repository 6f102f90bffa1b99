"""A CSV input as DuckDB reads it: strict RFC 4180, typed columns, and rows checked.

A query over `CsvSource.rows()` fails at the first row a check refuses; `errors.explain`
then finds out which row that was, and where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lfp.processors.duckdb_csv.header import CsvHeader
from lfp.processors.duckdb_csv.input import CsvInput
from lfp.processors.duckdb_csv.sql import sql_string

# The message of the error() a checked scan raises on a bad row; only ever read by us.
_BAD_ROW = "lfp: a row failed its check"


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

    input: CsvInput
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
            sql_string(self.input.location),
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
            f"WHERE CASE WHEN {' AND '.join(self.oks())} "
            f"THEN true ELSE error({sql_string(_BAD_ROW)}) END)"
        )

    def oks(self) -> list[str]:
        """Per check, in order, the SQL that is true exactly when a row passes it."""
        # NULL (e.g. a check on an empty value) counts as a failed check.
        return [f"coalesce(({c.ok(self.column(c.column))}), false)" for c in self.checks]
