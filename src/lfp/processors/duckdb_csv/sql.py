"""SQL text the CSV processors build, and what the files their queries write are."""

from __future__ import annotations

CSV_CONTENT_TYPE = "text/csv"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"

# The options of a COPY that writes RFC 4180 CSV: comma separated, quotes doubled.
CSV_COPY_OPTIONS = "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"'"


def sql_string(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_name(value: str) -> str:
    """`value` as a quoted SQL identifier (any text: a header's names are arbitrary)."""
    return '"' + value.replace('"', '""') + '"'
