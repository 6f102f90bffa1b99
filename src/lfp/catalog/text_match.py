"""Case-insensitive text matching in SQL, folding as much of Unicode as each database can.

The catalogue's text columns compare by code point (PostgreSQL collation "C"), and under
"C" PostgreSQL's lower() folds ASCII letters only. `fold` lowers under the database's
default collation instead, so with a UTF-8 locale (C.UTF-8, en_US.UTF-8) `Ç` folds to `ç`
too. SQLite's lower() folds ASCII letters only, whatever is asked of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

ESCAPE = "/"


class fold(FunctionElement[str]):
    """lower() of a text expression, under the default collation on PostgreSQL."""

    type = String()
    inherit_cache = True


@compiles(fold)
def _fold(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(fold, "postgresql")
def _fold_postgresql(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "default")'


def like_text(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character) taken literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def folded_like(expression: SQLColumnExpression[Any], pattern: str) -> ColumnElement[bool]:
    """Whether `expression` matches the LIKE `pattern` (escaped with ESCAPE) in any case."""
    return fold(expression).like(fold(literal(pattern)), escape=ESCAPE)


def folded_contains(expression: SQLColumnExpression[Any], text: str) -> ColumnElement[bool]:
    """Whether `expression` contains `text`, in any case; `%` and `_` are plain characters."""
    return folded_like(expression, f"%{like_text(text)}%")


def folded_equals(expression: SQLColumnExpression[Any], text: str) -> ColumnElement[bool]:
    """Whether `expression` equals `text`, in any case."""
    return fold(expression) == fold(literal(text))
