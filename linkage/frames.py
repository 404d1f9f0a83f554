"""Query results as polars frames."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: Mapping[str, object] | None = None
) -> pl.DataFrame:
    """Return the result of one query (values bound from ``parameters``) as a polars frame."""
    frame = pl.DataFrame(con.sql(sql, params=dict(parameters or {})).to_arrow_table())
    return frame
