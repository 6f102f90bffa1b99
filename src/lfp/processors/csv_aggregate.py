"""The `csv-aggregate` processor: group a CSV's rows by columns and aggregate others.

Each output row is one group (one combination of the `group_by` columns' values, sorted
by them; no `group_by` gives one row over the whole file) with one column per aggregate:

- `sum`, `mean`: of a column that must hold numbers (`.` decimal point); any other value
  fails the job naming its line and column. Empty values are skipped.
- `min`, `max`: numbers compared as numbers when every value of the column is one, text
  compared by code point otherwise.
- `count`: how many values of the column are not empty.

A group with no values for an aggregate gets an empty value. A column of sums, minima or
maxima that are all whole numbers (below 2^53) is written as integers, otherwise as
floating point; means are always floating point.
The output is `aggregate.csv` (RFC 4180, comma separated, whatever the input's delimiter)
or `aggregate.parquet`. Empty group values come first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lfp.processors.base import JobContext, Processor
from lfp.processors.duckdb_csv.engine import Engine, removed_on_failure
from lfp.processors.duckdb_csv.header import read_header
from lfp.processors.duckdb_csv.source import Check, CsvSource
from lfp.processors.duckdb_csv.sql import (
    CSV_CONTENT_TYPE,
    CSV_COPY_OPTIONS,
    PARQUET_CONTENT_TYPE,
    sql_name,
    sql_string,
)

Function = Literal["sum", "count", "min", "max", "mean"]
Name = Annotated[str, Field(min_length=1)]

_NUMERIC: frozenset[str] = frozenset({"sum", "mean"})
_NUMBER = "a number (the column is summed or averaged)"
# Doubles hold every integer below 2^53 exactly; past it a "whole" sum may have rounded.
_EXACT = 2**53


class Aggregate(BaseModel):
    """One output column: a function of an input column, over each group."""

    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    column: Name = Field(
        description="The input column, as the header names it.", examples=["amount"]
    )
    function: Function = Field(
        description="sum, mean (numbers only), min, max, or count (of non-empty values).",
        examples=["sum"],
    )
    as_: Name | None = Field(
        default=None,
        alias="as",
        description="The output column's name; default function_column.",
        examples=["total_amount"],
    )

    @property
    def output_name(self) -> str:
        """The output column's name."""
        return self.as_ or f"{self.function}_{self.column}"


class CsvAggregateParams(BaseModel):
    """What to group by and what to compute per group."""

    model_config = ConfigDict(extra="forbid")

    group_by: list[Name] = Field(
        default_factory=list,
        description="Columns whose values make a group; none: one row over the whole file.",
        examples=[["region"]],
    )
    aggregates: list[Aggregate] = Field(
        min_length=1,
        description="The output's other columns.",
        examples=[[{"column": "amount", "function": "sum"}]],
    )
    delimiter: str = Field(
        default=",",
        min_length=1,
        max_length=1,
        description="The input's field separator.",
        examples=[";"],
    )
    output_format: Literal["csv", "parquet"] = Field(
        default="csv", description="aggregate.csv or aggregate.parquet.", examples=["parquet"]
    )

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in {'"', "\r", "\n"}:
            raise ValueError("the delimiter cannot be a quote or a line end")
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> CsvAggregateParams:
        if len(set(self.group_by)) < len(self.group_by):
            raise ValueError("group_by names a column twice")
        names = [*self.group_by, *(a.output_name for a in self.aggregates)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"output columns must have distinct names; repeated: {', '.join(repeated)} "
                "(name aggregates with `as`)"
            )
        return self


class CsvAggregateProcessor(Processor):
    """Groups rows by columns and aggregates other columns per group."""

    name = "csv-aggregate"
    description = (
        "Group a CSV's rows by columns and compute sum, mean, min, max or count of others "
        "per group; CSV or Parquet out, sorted by the group columns."
    )
    Params = CsvAggregateParams

    def run(self, job: JobContext, params: CsvAggregateParams) -> dict[str, Any]:
        """Write the aggregate; the counts of rows read and groups written."""
        header = read_header(job.open_input, params.delimiter)
        header.require([*params.group_by, *(a.column for a in params.aggregates)])
        extension = params.output_format
        content_type = PARQUET_CONTENT_TYPE if extension == "parquet" else CSV_CONTENT_TYPE
        output = job.output(f"aggregate.{extension}", content_type)
        with removed_on_failure(output), Engine(job) as engine:
            plan = _Plan(CsvSource(engine.input, header, params.delimiter), params)
            engine.run(plan.aggregate(), plan.source, progress=(0.0, 0.8))
            stats = engine.run(plan.stats())[0]
            engine.run(plan.copy(stats, str(output), extension), progress=(0.8, 1.0))
        return {"rows_read": int(stats[0]), "groups": int(stats[1]), "output": output.name}


class _Plan:
    """The SQL of one aggregation: groups into a table, its statistics, then the output.

    The table `groups` has the group values `g1…`, the row count `rows`, per aggregate `a1…`
    (and `t1…`, the text min/max of a column that may not hold numbers), and per such
    column `f1…`, whether all its values are numbers.
    """

    def __init__(self, source: CsvSource, params: CsvAggregateParams) -> None:
        numeric = {a.column for a in params.aggregates if a.function in _NUMERIC}
        # All columns are read as text: DuckDB's reader would take "4.5" for the integer 5,
        # and what a column holds is known only once all its values are seen. Numbers are
        # parsed with TRY_CAST, whose NULL for a non-number the check turns into an error.
        checks = [
            Check(name, lambda v: f"{v} IS NULL OR isfinite(TRY_CAST({v} AS DOUBLE))", _NUMBER)
            for name in source.header.names
            if name in numeric
        ]
        self.source = replace(source, checks=checks)
        self._params = params
        self._keys = [f"g{i}" for i in range(1, len(params.group_by) + 1)]
        self._maybe_text = sorted(
            {a.column for a in params.aggregates if a.function in {"min", "max"}} - numeric
        )

    def aggregate(self) -> str:
        """Aggregates the input into the table `groups`, in one pass over it."""
        column = self.source.column
        used = sorted({column(a.column) for a in self._params.aggregates})
        # Each value once as text and once as a number (NULL when it is not one).
        values = [f"{c} AS v_{c}, TRY_CAST({c} AS DOUBLE) AS n_{c}" for c in used]
        keys = [f"{column(g)} AS g{i}" for i, g in enumerate(self._params.group_by, 1)]
        measures = ["count(*) AS rows"]
        for i, aggregate in enumerate(self._params.aggregates, 1):
            c = column(aggregate.column)
            match aggregate.function:
                case "sum":
                    measures.append(f"sum(n_{c}) AS a{i}")
                case "mean":
                    measures.append(f"avg(n_{c}) AS a{i}")
                case "count":
                    measures.append(f"count(v_{c}) AS a{i}")
                case "min" | "max" as function:
                    measures.append(f"{function}(n_{c}) AS a{i}")
                    if aggregate.column in self._maybe_text:
                        measures.append(f"{function}(v_{c}) AS t{i}")
        for k, name in enumerate(self._maybe_text, 1):
            c = column(name)
            measures.append(f"bool_and(v_{c} IS NULL OR coalesce(isfinite(n_{c}), false)) AS f{k}")
        group_by = f" GROUP BY {', '.join(self._keys)}" if self._keys else ""
        return (
            f"CREATE TEMP TABLE groups AS SELECT {', '.join([*self._keys, *measures])} "
            f"FROM (SELECT {', '.join([*keys, *values])} FROM {self.source.rows()}){group_by}"
        )

    def stats(self) -> str:
        """Rows read, groups, and what the output's columns hold.

        Then per column that may hold text, whether it holds only numbers; then per
        aggregate, whether its values are all whole numbers that a double holds exactly.
        """
        parts = ["coalesce(sum(rows), 0)", "count(*)"]
        parts += [f"coalesce(bool_and(f{k}), true)" for k in range(1, len(self._maybe_text) + 1)]
        parts += [
            f"coalesce(bool_and(a{i} = round(a{i}) AND abs(a{i}) < {_EXACT}), true)"
            for i in range(1, len(self._params.aggregates) + 1)
        ]
        return f"SELECT {', '.join(parts)} FROM groups"

    def copy(self, stats: tuple[Any, ...], path: str, output_format: str) -> str:
        """Writes the groups, sorted, as `output_format` to `path`."""
        numbers = dict(zip(self._maybe_text, stats[2:], strict=False))
        whole = stats[2 + len(self._maybe_text) :]
        columns = [f"g{i} AS {sql_name(g)}" for i, g in enumerate(self._params.group_by, 1)]
        for i, aggregate in enumerate(self._params.aggregates, 1):
            value = f"a{i}"
            if aggregate.function in {"min", "max"} and not numbers.get(aggregate.column, True):
                value = f"t{i}"
            elif aggregate.function in {"sum", "min", "max"} and whole[i - 1]:
                value = f"CAST(a{i} AS BIGINT)"
            columns.append(f"{value} AS {sql_name(aggregate.output_name)}")
        order = f" ORDER BY {', '.join(f'{k} NULLS FIRST' for k in self._keys)}"
        options = (
            "FORMAT parquet, COMPRESSION zstd" if output_format == "parquet" else CSV_COPY_OPTIONS
        )
        return (
            f"COPY (SELECT {', '.join(columns)} FROM groups{order if self._keys else ''}) "
            f"TO {sql_string(path)} ({options})"
        )
