"""Terminal rendering shared by plug-ins whose summary follows the common shape.

A summary (``ProtocolPlugin.summarize``) is JSON-able and carries ``protocol``, ``snapshot_id``,
``chain_id``, ``block_number`` and ``markets``: a list of flat dicts of strings/ints/bools (exact
values as decimal strings). :func:`render_generic` prints one header line and one table row per
market, columns in the order of the first market's keys.
"""

from __future__ import annotations

from typing import Any


def render_generic(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from defi_perps.indexer.summary import console

    head = (f"{summary.get('title', summary.get('protocol'))} snapshot {summary.get('snapshot_id')}: chain "
            f"{summary.get('chain_id')}, block {summary.get('block_number')}, {summary.get('positions', 0)} positions")
    con = console()
    con.print(head)
    for k, v in (summary.get("totals") or {}).items():
        con.print(f"  {k}: {v}")
    markets = summary.get("markets") or []
    if not markets:
        return
    t = Table()
    cols = [c for c in markets[0] if not isinstance(markets[0][c], (dict, list))]
    for c in cols:
        t.add_column(c.replace("_", " "))
    for m in markets:
        t.add_row(*("-" if m.get(c) is None else str(m.get(c)) for c in cols))
    con.print(t)
