"""Time series of one market's risk metrics over stored snapshots (``defi-perps series``, ``api.series``).

Every value comes from the exact per-snapshot summary (indexer/summary.py: the contract's integers,
GMX math, decimal strings), read from the stored summary cache (store/summaries.py) and computed and
cached once where it is missing, so a series shows exactly what ``snapshots show`` shows at each block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from defi_perps.exceptions import InputError, SnapshotNotFound, StoreError

# metric -> (summary field, side-keyed sub-field, unit). liq_<q>pct: the price move that liquidates
# q % of the side's OI (negative for longs), from summary.liquidation_distances.
METRICS: dict[str, tuple[str, str | None, str]] = {
    "price": ("price_usd", None, "USD per token"),
    "pool_value": ("pool_value_usd", None, "USD"),
    "oi_long": ("oi_long_usd", None, "USD"),
    "oi_short": ("oi_short_usd", None, "USD"),
    "pnl_to_pool_long": ("pnl_to_pool_long", None, "ratio"),
    "pnl_to_pool_short": ("pnl_to_pool_short", None, "ratio"),
    "adl_threshold_long": ("adl_threshold_long", None, "ratio"),
    "adl_threshold_short": ("adl_threshold_short", None, "ratio"),
    "liquidatable_now_long": ("liquidatable_now_long", None, "fraction of OI"),
    "liquidatable_now_short": ("liquidatable_now_short", None, "fraction of OI"),
    "positions_long": ("positions_long", None, "count"),
    "positions_short": ("positions_short", None, "count"),
}
for _q in ("1", "10", "50"):
    for _side in ("long", "short"):
        METRICS[f"liq_{_q}pct_{_side}"] = (f"liquidation_move_{_side}", f"{_q}%", "price move (fraction)")
# shorthand: liq_10pct = both sides
ALIASES = {f"liq_{q}pct": (f"liq_{q}pct_long", f"liq_{q}pct_short") for q in ("1", "10", "50")}
DEFAULT_METRICS = ("oi_long", "oi_short", "pnl_to_pool_long", "pnl_to_pool_short", "pool_value", "liq_10pct")


def parse_metrics(raw: str | list[str] | tuple[str, ...] | None) -> list[str]:
    items = list(DEFAULT_METRICS) if not raw else (
        [x.strip() for x in raw.split(",")] if isinstance(raw, str) else [str(x).strip() for x in raw])
    out: list[str] = []
    for m in items:
        if not m:
            continue
        names = ALIASES.get(m, (m,))
        for n in names:
            if n not in METRICS:
                raise InputError(f"unknown metric {m!r}; known: {', '.join(sorted([*METRICS, *ALIASES]))}")
            if n not in out:
                out.append(n)
    if not out:
        raise InputError("--metrics names no metric")
    return out


@dataclass(frozen=True)
class Bound:
    """--from / --to: a block number, or an ISO date/time (UTC unless it says otherwise)."""

    block: int | None = None
    timestamp: int | None = None

    @classmethod
    def parse(cls, raw: str | int | None, opt: str) -> Bound | None:
        if raw is None:
            return None
        s = str(raw).strip()
        if re.fullmatch(r"\d+", s):
            return cls(block=int(s))
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise InputError(f"{opt} must be a block number or an ISO date (2025-10-01, 2025-10-10T21:00Z), "
                             f"got {raw!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return cls(timestamp=int(dt.timestamp()))

    def sql(self, op: str, name: str) -> tuple[str, dict[str, int]]:
        col = "block_number" if self.block is not None else "block_timestamp"
        return f" AND {col} {op} :{name}", {name: self.block if self.block is not None else self.timestamp}  # type: ignore[dict-item]


@dataclass
class Series:
    market: str                     # market token address
    name: str                       # "ETH/USD [WETH-USDC]"
    chain_id: int
    data_store: str
    metrics: list[str]
    rows: list[dict[str, Any]]      # snapshot_id, block_number, block_timestamp, block_hash, time, metrics (exact strings)

    def units(self) -> dict[str, str]:
        return {m: METRICS[m][2] for m in self.metrics}

    def to_dict(self) -> dict[str, Any]:
        return {"market": self.market, "name": self.name, "chain_id": self.chain_id, "data_store": self.data_store,
                "metrics": self.metrics, "units": self.units(),
                "source": "exact per-snapshot summary (indexer/summary.py), cached in snapshot_summary",
                "rows": self.rows}

    def to_pandas(self) -> Any:
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=["snapshot_id", "block_number", "block_timestamp", "block_hash", "time",
                                              *self.metrics])
        df["time"] = pd.to_datetime(df["block_timestamp"], unit="s", utc=True)
        for m in self.metrics:
            df[m] = pd.to_numeric(df[m], errors="coerce").astype("float64")   # None (no price) → NaN
        return df


def _match(markets: list[dict[str, Any]], want: str) -> dict[str, Any] | None:
    w = want.strip().lower()
    for m in markets:
        if m["market"].lower() == w or m["name"].lower() == w:
            return m
    hits = [m for m in markets if m["name"].split("/")[0].lower() == w]
    if len(hits) > 1:
        raise InputError(f"market {want!r} is ambiguous: {', '.join(m['name'] for m in hits)}; give the full name "
                         "or the market token address")
    return hits[0] if hits else None


def series(db_url: str | None, market: str, metrics: str | list[str] | None = None, from_: str | int | None = None,
           to: str | int | None = None, chain_id: int | None = None) -> Series:
    """One market's metrics at every stored (Chainlink-priced) snapshot in range, ascending by block.

    ``market``: the market token address, its full name or its index symbol when unique (``ETH``).
    A block stored twice (a reorg) counts once: the newest snapshot of that number stands.
    """
    from defi_perps.indexer.summary import summarize
    from defi_perps.store.db import _first_line, get_engine
    from defi_perps.store.queries import load_snapshot
    from defi_perps.store.summaries import cached_summaries, store_summary

    names = parse_metrics(metrics)
    lo, hi = Bound.parse(from_, "--from"), Bound.parse(to, "--to")
    q = ("SELECT id, chain_id, data_store, block_number, block_timestamp, block_hash FROM snapshot "
         "WHERE protocol = 'gmx_v2' AND price_source = 'chainlink'")
    params: dict[str, Any] = {}
    if chain_id is not None:
        q += " AND chain_id = :cid"
        params["cid"] = chain_id
    for b, op, nm in ((lo, ">=", "lo"), (hi, "<=", "hi")):
        if b is not None:
            clause, p = b.sql(op, nm)
            q += clause
            params.update(p)
    q += " ORDER BY block_number, id"
    try:
        with get_engine(db_url, create=False).connect() as c:
            snaps = c.execute(text(q), params).all()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None
    if not snaps:
        raise SnapshotNotFound("no stored snapshots in that range: index some blocks first "
                               "(`defi-perps index gmx-v2 --from-block A --to-block B`)")
    cache = cached_summaries(db_url, [int(s[0]) for s in snaps])
    picked: dict[tuple[int, str], dict[int, tuple[Any, dict[str, Any]]]] = {}
    for s in snaps:
        sid = int(s[0])
        summ = cache.get(sid)
        if summ is None:          # not cached yet (indexed by an older version): compute once, cache
            summ = summarize(load_snapshot(db_url, sid))
            store_summary(db_url, sid, summ)
        m = _match(summ["markets"], market)
        if m is None:
            continue
        picked.setdefault((int(s[1]), str(s[2]).lower()), {})[int(s[3])] = (s, m)   # newest id per block wins
    if not picked:
        raise InputError(f"market {market!r} is in none of the {len(snaps)} stored snapshots in range "
                         "(give its market token address, full name, or a unique index symbol)")
    if len(picked) > 1:
        where = ", ".join(f"chain {c} DataStore {d[:10]}…" for c, d in picked)
        raise InputError(f"market {market!r} appears in snapshots of several deployments ({where}); "
                         "pass --chain-id")
    (cid, ds), by_block = next(iter(picked.items()))
    rows = []
    for bn in sorted(by_block):
        s, m = by_block[bn]
        row: dict[str, Any] = {"snapshot_id": int(s[0]), "block_number": bn, "block_timestamp": int(s[4]),
                               "block_hash": str(s[5]),
                               "time": datetime.fromtimestamp(int(s[4]), UTC).isoformat()}
        for name in names:
            field, sub, _ = METRICS[name]
            v = m.get(field)
            if sub is not None:
                v = v.get(sub) if isinstance(v, dict) else None
            row[name] = v
        rows.append(row)
    first = by_block[min(by_block)][1]
    return Series(first["market"], first["name"], cid, ds, names, rows)
