"""Render a market time series (``defi-perps series``): a terminal table and a PNG (matplotlib, Agg).

Renders only: the numbers come from indexer/series.py (exact decimal strings per snapshot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from defi_perps.report import style

# y-axis label per unit; metrics of one unit share a panel
AXIS = {"USD": "USD", "USD per token": "index price (USD)", "ratio": "pnl / pool value (ratio)", "fraction of OI": "share of side OI",
        "price move (fraction)": "price move to liquidation (fraction)", "count": "positions"}


def table(s: Any) -> None:
    from rich.table import Table

    from defi_perps.indexer.summary import console

    mk = s.market if len(s.market) <= 10 else s.market[:10] + "…"
    t = Table(title=f"{s.name} ({mk}) on chain {s.chain_id}: {len(s.rows)} snapshots")
    for col in ("block", "time (UTC)", *s.metrics):
        t.add_column(col, justify="right")
    for r in s.rows:
        t.add_row(str(r["block_number"]), r["time"][:19].replace("T", " "),
                  *("-" if r[m] is None else str(r[m]) for m in s.metrics))
    c = console()
    c.print(t)
    c.print("units: " + ", ".join(f"{m} {u}" for m, u in s.units().items()))


def png(s: Any, path: Path | None) -> Any:
    """One panel per unit, x = block number (time range in the title); ``path`` None returns the open Figure (the API)."""
    style.apply_matplotlib_style()
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    df = s.to_pandas()
    units: dict[str, list[str]] = {}
    for m, u in s.units().items():
        units.setdefault(u, []).append(m)
    fig, axes = plt.subplots(len(units), 1, figsize=(9, 2.6 * len(units) + 0.6), sharex=True, squeeze=False)
    for ax, (u, ms) in zip(axes[:, 0], units.items()):
        for m in ms:
            # x = block number: always ordered and distinct (devnet blocks can share a second)
            ax.plot(df["block_number"], df[m], marker="o", markersize=3, label=m)
        ax.set_ylabel(AXIS.get(u, u))
        ax.legend(loc="best", fontsize=8)
    axes[-1, 0].set_xlabel("block number")
    axes[-1, 0].xaxis.get_major_locator().set_params(integer=True)
    b0, b1 = df["block_number"].min(), df["block_number"].max()
    t0, t1 = (df["time"].min().strftime("%Y-%m-%d %H:%M:%S"), df["time"].max().strftime("%Y-%m-%d %H:%M:%S"))
    fig.suptitle(f"{s.name} on chain {s.chain_id}, blocks {b0}–{b1} ({len(df)} snapshots, {t0} – {t1} UTC)")
    ids = df["snapshot_id"].tolist()
    fig.text(0.995, 0.005, f"defi-perps snapshots {min(ids)}–{max(ids)}", ha="right", va="bottom", fontsize=7,
             color="#777777")
    if path is None:
        return fig
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
