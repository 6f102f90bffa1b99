"""DuckDB plumbing the CSV processors share.

What every CSV processor needs besides its own query: the input's header checked before
any work starts, a DuckDB connection confined to the job's memory, threads and scratch
space, the input read strictly as RFC 4180 with each row checked, progress and cancel while
one long query runs, and a bad input turned into a `ProcessorError` that names the line
(1-based, the header is line 1) and the column.

Checking costs a good file no extra read: a bad value fails the query that meets it, and
only then does a second, slower pass find where (`errors.explain`).

The modules, by job: `sql` (SQL text, output content types), `header` (the first record),
`source` (the input as DuckDB reads and checks it), `errors` (what is wrong and where),
`lines` (byte offsets and row numbers turned into line numbers), `engine` (the connection,
the query runner, progress and cancel).
"""
