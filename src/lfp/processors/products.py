"""The `products` processor: a CSV `name,sku,description` upserted into the products catalogue.

Input: RFC 4180 CSV (UTF-8, optional BOM, LF or CRLF, quoted values may span lines) whose
header names the columns `name`, `sku` and `description` in any order. Each row upserts
the product with its sku; within one file the last row for a sku wins. `product_aggregates`
(name → number of products) is brought up to date in the same transaction, so a failed or
cancelled load leaves both tables exactly as they were.

The sku key: surrounding spaces are dropped; with `sku_case_insensitive` (the default) it
is also lower-cased, so `ABC-1` and `abc-1` are one product, stored as `abc-1`. Names are
stripped too (so `Widget` and `Widget ` count as one name); descriptions are kept verbatim.

The rows go into a staging table first (PostgreSQL: `COPY` into a temporary table;
SQLite: batched inserts that already keep the last row per sku), then a few set-based
statements work out how the load changes each name's count, upsert the products and apply
those changes to `product_aggregates`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from pydantic import Field
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from lfp.catalog.products.models import NAME_MAX, SKU_MAX
from lfp.db.base import UTCDateTime, utcnow
from lfp.processors.base import JobContext, ProcessorError
from lfp.processors.csv_records import CsvRecords, Record
from lfp.processors.ingest import (
    BadRow,
    IngestParams,
    IngestProcessor,
    LoadCounts,
    SkippedRows,
    parse_rows,
)

COLUMNS = ("name", "sku", "description")
# PostgreSQL advisory lock key that serialises products loads (any fixed number will do).
LOAD_LOCK = 0x70726F64
BATCH = 5_000  # rows between progress reports and cancel checks, and per SQLite insert batch


class ProductsParams(IngestParams):
    """Params of the `products` processor."""

    sku_case_insensitive: bool = Field(
        default=True,
        description=(
            "Treat skus that differ only in letter case as one product (stored lower-case)."
        ),
        examples=[False],
    )


class ProductsProcessor(IngestProcessor):
    """Loads products from a CSV into the products catalogue."""

    name = "products"
    description = (
        "CSV name,sku,description → table products (a later row with the same sku updates "
        "it) and table product_aggregates (name → number of products)."
    )
    Params = ProductsParams

    def load(self, job: JobContext, params: ProductsParams, session: Session) -> LoadCounts:
        """Upsert the file's products; counts of rows read, inserted, updated and skipped."""
        skipped = SkippedRows()
        rows = _products(job, params, skipped)
        sqlite = session.get_bind().dialect.name == "sqlite"
        read = (_stage_sqlite if sqlite else _stage_postgres)(session, rows)
        inserted, distinct = _upsert(session, utcnow())
        _drop_staging(session, sqlite=sqlite)
        return LoadCounts(
            rows=read,
            inserted=inserted,
            updated=distinct - inserted,
            duplicates=read - distinct,
            skipped=skipped,
        )


def _products(
    job: JobContext, params: ProductsParams, skipped: SkippedRows
) -> Iterator[tuple[str, str, str]]:
    """The file's good rows as (sku key, name, description), in file order.

    A bad row raises ProcessorError, or with `on_bad_row=skip` is recorded and left out.
    """
    records = CsvRecords(job.open_input)
    reported = _reporting(job, records)
    order = _header(next(reported, None))
    yield from parse_rows(
        reported,
        lambda record: _row(record.fields, order, params.sku_case_insensitive),
        params.on_bad_row,
        skipped,
    )
    job.progress(records.bytes_read, job.input_size)


def _reporting(job: JobContext, records: CsvRecords) -> Iterator[Record]:
    """The records, with a cancel check and a progress report before every BATCH of them."""
    for count, record in enumerate(records):
        if count % BATCH == 0:
            job.check_cancelled()
            job.progress(records.bytes_read, job.input_size)
        yield record


def _header(record: Record | None) -> tuple[int, int, int]:
    """The positions of name, sku and description in the header (line 1)."""
    if record is None:
        raise ProcessorError("the file is empty: line 1 must be the header name,sku,description")
    if record.error is not None:
        raise ProcessorError(f"line {record.line} (the header): {record.error}")
    names = [name.strip().lower() for name in record.fields]
    if sorted(names) != sorted(COLUMNS):
        found = ",".join(names) or "nothing"
        raise ProcessorError(
            f"line {record.line}: the header must name the columns name, sku and description, "
            f"once each and in any order; it has {found}"
        )
    return names.index("name"), names.index("sku"), names.index("description")


def _row(
    fields: list[str], order: tuple[int, int, int], case_insensitive: bool
) -> tuple[str, str, str]:
    """A row as (sku key, name, description); BadRow names the column that is wrong."""
    if len(fields) < len(COLUMNS):
        # The first column, in the file's order, that the row does not reach.
        missing = sorted(zip(order, COLUMNS, strict=True))[len(fields)][1]
        raise BadRow(f"missing (the row has {len(fields)} of 3 fields)", missing)
    if len(fields) > len(COLUMNS):
        raise BadRow(f"unexpected (the row has {len(fields)} fields, not 3)", "4")
    name = fields[order[0]].strip()
    sku = fields[order[1]].strip()
    description = fields[order[2]]
    if not sku:
        raise BadRow("empty", "sku")
    if len(sku) > SKU_MAX:
        raise BadRow(f"longer than {SKU_MAX} characters", "sku")
    if not name:
        raise BadRow("empty", "name")
    if len(name) > NAME_MAX:
        raise BadRow(f"longer than {NAME_MAX} characters", "name")
    for column, value in (("name", name), ("sku", sku), ("description", description)):
        if "\x00" in value:
            # PostgreSQL's text cannot hold NUL.
            raise BadRow("holds a NUL character", column)
    return (sku.lower() if case_insensitive else sku, name, description)


def _batches(rows: Iterable[tuple[str, str, str]]) -> Iterator[list[tuple[str, str, str]]]:
    batch: list[tuple[str, str, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _stage_postgres(session: Session, rows: Iterable[tuple[str, str, str]]) -> int:
    """COPY the rows into a temporary table, then keep the last row per sku; rows staged."""
    # One load at a time: two at once could deadlock on shared skus, and each would work out
    # its count changes from products as they were before the other committed. (On SQLite
    # the write transaction is alone already.)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK})
    # The collation of the products table's columns ("C": byte order, fast to sort).
    session.execute(
        text(
            'CREATE TEMP TABLE products_copy (rn bigint, sku text COLLATE "C", name text, '
            "description text)"
        )
    )
    connection = session.connection().connection.driver_connection
    assert connection is not None
    staged = 0
    copy_sql = "COPY products_copy (rn, sku, name, description) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for staged, (sku, name, description) in enumerate(rows, start=1):
            copy.write_row((staged, sku, name, description))
    session.execute(
        text(
            'CREATE TEMP TABLE products_load (sku text COLLATE "C", name text COLLATE "C", '
            "description text)"
        )
    )
    session.execute(
        text(
            "INSERT INTO products_load (sku, name, description) "
            "SELECT DISTINCT ON (sku) sku, name, description FROM products_copy "
            "ORDER BY sku, rn DESC"
        )
    )
    session.execute(text("ANALYZE products_load"))
    return staged


def _stage_sqlite(session: Session, rows: Iterable[tuple[str, str, str]]) -> int:
    """Insert the rows in batches into a temporary table that keeps the last row per sku."""
    # A rolled back load drops them too; this is for a connection that died half-way.
    session.execute(text("DROP TABLE IF EXISTS temp.products_load"))
    session.execute(text("DROP TABLE IF EXISTS temp.products_delta"))
    session.execute(
        text(
            "CREATE TEMP TABLE products_load "
            "(sku TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL)"
        )
    )
    cursor = session.connection().connection.cursor()
    staged = 0
    try:
        for batch in _batches(rows):
            cursor.executemany(
                "INSERT INTO temp.products_load (sku, name, description) VALUES (?, ?, ?) "
                "ON CONFLICT (sku) DO UPDATE SET "
                "name = excluded.name, description = excluded.description",
                batch,
            )
            staged += len(batch)
    finally:
        cursor.close()
    return staged


def _upsert(session: Session, now: datetime) -> tuple[int, int]:
    """Upsert the staged products and adjust the counts per name; (new skus, distinct skus).

    The counts change by +1 for each staged product's name and by -1 for the name a
    staged sku had before, which keeps `product_aggregates` exact without recounting.
    """
    session.execute(
        text(
            "CREATE TEMP TABLE products_delta AS "
            "SELECT name, sum(change) AS change FROM ("
            "SELECT name, 1 AS change FROM products_load UNION ALL "
            "SELECT p.name, -1 FROM products p JOIN products_load l ON p.sku = l.sku"
            ") AS changes GROUP BY name"
        )
    )
    # Each staged sku adds one, each one already there takes one away: the sum is what's new.
    inserted = session.scalar(text("SELECT coalesce(sum(change), 0) FROM products_delta"))
    distinct = session.scalar(text("SELECT count(*) FROM products_load"))
    session.execute(
        text(
            "INSERT INTO products (sku, name, description, updated_at) "
            "SELECT sku, name, description, :now FROM products_load WHERE true "
            "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, "
            "description = excluded.description, updated_at = excluded.updated_at"
        ).bindparams(bindparam("now", now, type_=UTCDateTime()))
    )
    session.execute(
        text(
            "INSERT INTO product_aggregates (name, count) "
            "SELECT name, change FROM products_delta WHERE change <> 0 "
            "ON CONFLICT (name) DO UPDATE "
            "SET count = product_aggregates.count + excluded.count"
        )
    )
    session.execute(
        text(
            "DELETE FROM product_aggregates WHERE count = 0 "
            "AND name IN (SELECT name FROM products_delta WHERE change < 0)"
        )
    )
    return int(inserted or 0), int(distinct or 0)


def _drop_staging(session: Session, *, sqlite: bool) -> None:
    """Drop the temporary tables, which would otherwise live as long as the pooled connection."""
    tables = ("products_load", "products_delta") + (() if sqlite else ("products_copy",))
    for table in tables:
        session.execute(text(f"DROP TABLE {'temp.' if sqlite else ''}{table}"))
