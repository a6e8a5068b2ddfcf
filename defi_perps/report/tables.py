"""Report tables: every section's DataFrames as ``tables/<name>.csv`` and ``tables/<name>.parquet``,
and as HTML tables with the report's number style.

CSV and Parquet keep full precision (floats as computed, USD in dollars, shares as fractions);
only the HTML rendering rounds, through :mod:`defi_perps.report.style`.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from defi_perps.report import style


def write_table(df: pd.DataFrame, folder: Path, name: str) -> dict[str, str]:
    """Write ``name`` as CSV and Parquet; returns their paths relative to the report folder."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, pq = folder / f"{name}.csv", folder / f"{name}.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq, index=False)
    return {"csv": f"{folder.name}/{csv.name}", "parquet": f"{folder.name}/{pq.name}", "rows": str(len(df))}


def _cell(col: str, v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)) and not col.endswith("_usd"):
        return style.count(int(v)) if "run_id" not in col else f"#{int(v)}"
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if "run_id" in col:
            return f"#{int(x)}"
        if col.startswith("price"):
            return style.price(x)
        if col.endswith(("_usd", "_usd_p50")) or "_usd_p" in col:
            return style.usd(x)
        if any(k in col for k in ("share", "drop", "pnl_to_pool", "threshold", "liquidatable", "move", "shock")):
            return style.pct(x, 2 if abs(x) < 0.1 else 1)
        if "amplification" in col:
            return style.ratio(x)
        if "depth" in col:
            return f"×{x:g}"
        return style.count(x)
    return style.plain(str(v))


def _header(col: str) -> str:
    return col.replace("_usd", " ($)").replace("_", " ")


def html_table(df: pd.DataFrame, max_rows: int = 200) -> str:
    """An HTML table in the report's number style (first ``max_rows`` rows; the files hold all)."""
    head = "".join(f"<th>{html.escape(_header(c))}</th>" for c in df.columns)
    body = []
    for row in df.head(max_rows).itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, row):
            text = html.escape(_cell(col, v))
            cls = ' class="num"' if not isinstance(v, str) else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="more">{len(df) - max_rows} more rows in the CSV / Parquet files.</p>'
            if len(df) > max_rows else "")
    return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}'


__all__ = ["html_table", "write_table"]
