"""Time series of one market's metrics over stored snapshots (``defi-perps series``, ``api.series``), for
any registered protocol.

Two kinds of metric:

* shared, for every protocol, from the shared records each plug-in gives (``ProtocolPlugin.shared``,
  the ``snapshot_position`` rows): open interest and collateral per side (the sum of the exact
  ``size_in_usd`` / ``collateral_usd`` in the plug-in's USD scale), position counts per side, and the
  index price in USD from the plug-in's ``market_prices_usd`` (exact, per whole token);
* the plug-in's own, read from its exact per-snapshot summary (``series_metrics``; GMX v2: pool value,
  pnl-to-pool, ADL thresholds, liquidation distances; its summary also gives GMX v2's price, OI and
  counts, so a GMX v2 series shows exactly what ``snapshots show`` shows at each block). Summaries
  come from the stored cache (store/summaries.py) and are computed and cached once where missing.

Only on-chain-priced snapshots count: each protocol's snapshots whose stored price source is the
plug-in's own (``default_price_source``: GMX v2 ``chainlink``, Hyperliquid ``precompile``, …), never
a ``--prices`` what-if.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from defi_perps.exceptions import InputError, SnapshotNotFound, StoreError
from defi_perps.protocols import registry

# shared metrics (every protocol): metric -> unit
SHARED_METRICS: dict[str, str] = {
    "price": "USD per token",
    "oi_long": "USD", "oi_short": "USD",
    "collateral_long": "USD", "collateral_short": "USD",
    "positions_long": "count", "positions_short": "count",
}
SHARED_DEFAULTS = ("price", "oi_long", "oi_short", "positions_long", "positions_short")
# every metric of every protocol, metric -> (summary field or None for a shared metric, sub-field, unit)
METRICS: dict[str, tuple[str | None, str | None, str]] = {m: (None, None, u) for m, u in SHARED_METRICS.items()}


def known_metrics(plugins: list[Any]) -> dict[str, str]:
    """metric -> unit over the shared metrics and the given plug-ins' own."""
    out = dict(SHARED_METRICS)
    for p in plugins:
        out.update({m: v[2] for m, v in p.series_metrics.items()})
    return out


def parse_metrics(raw: str | list[str] | tuple[str, ...] | None, known: dict[str, str] | None = None,
                  defaults: tuple[str, ...] = SHARED_DEFAULTS) -> list[str]:
    """Metric names, in order, duplicates dropped; ``x`` stands for ``x_long,x_short`` when both exist
    (``liq_10pct``, ``oi``). ``known``: metric -> unit (default: every registered protocol's)."""
    if known is None:
        known = known_metrics([registry.get(n) for n in registry.names()])
    items = list(defaults) if not raw else (
        [x.strip() for x in raw.split(",")] if isinstance(raw, str) else [str(x).strip() for x in raw])
    out: list[str] = []
    for m in items:
        if not m:
            continue
        names: tuple[str, ...] = (m,)
        if m not in known and f"{m}_long" in known and f"{m}_short" in known:
            names = (f"{m}_long", f"{m}_short")
        for n in names:
            if n not in known:
                aliases = sorted({k.rsplit("_", 1)[0] for k in known if k.endswith(("_long", "_short"))})
                raise InputError(f"unknown metric {m!r}; known: {', '.join(sorted({*known, *aliases}))}")
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
    market: str                     # the protocol's market id (GMX v2: market token address; Hyperliquid: perp index)
    name: str                       # "ETH/USD [WETH-USDC]"
    chain_id: int
    data_store: str
    metrics: list[str]
    rows: list[dict[str, Any]]      # snapshot_id, block_number, block_timestamp, block_hash, time, metrics (exact strings)
    protocol: str = "gmx_v2"
    price_source: str = "chainlink"
    unit_of: dict[str, str] = field(default_factory=dict)

    def units(self) -> dict[str, str]:
        return {m: self.unit_of.get(m) or SHARED_METRICS.get(m, "") for m in self.metrics}

    def to_dict(self) -> dict[str, Any]:
        return {"market": self.market, "name": self.name, "chain_id": self.chain_id, "protocol": self.protocol,
                "data_store": self.data_store, "price_source": self.price_source,
                "metrics": self.metrics, "units": self.units(),
                "source": {m: ("shared records (snapshot_position, plug-in prices)" if self._shared(m) else
                               "exact per-snapshot summary of the plug-in, cached in snapshot_summary")
                           for m in self.metrics},
                "rows": self.rows}

    def _shared(self, m: str) -> bool:
        return m not in registry.get(self.protocol).series_metrics

    def to_pandas(self) -> Any:
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=["snapshot_id", "block_number", "block_timestamp", "block_hash", "time",
                                              *self.metrics])
        df["time"] = pd.to_datetime(df["block_timestamp"], unit="s", utc=True)
        for m in self.metrics:
            df[m] = pd.to_numeric(df[m], errors="coerce").astype("float64")   # None (no price) → NaN
        return df


def shared_values(plugin: Any, snap: Any) -> list[dict[str, Any]]:
    """Per market of ``snap``: {"market", "name", <shared metric>: exact decimal string or int or None}."""
    from defi_perps.indexer.diff import market_name, usd_places
    from defi_perps.indexer.summary import dec, price_str

    shared = plugin.shared(snap)
    scale, places = 10 ** plugin.usd_decimals, usd_places(plugin)
    prices = plugin.market_prices_usd(snap)
    out = []
    by: dict[str, list[Any]] = {}
    for p in shared.positions:
        by.setdefault(p.market, []).append(p)
    for m in shared.markets:
        row: dict[str, Any] = {"market": m.market, "name": market_name(m, shared)}
        px = prices.get(m.market)
        row["price"] = None if px is None else price_str(px)
        for is_long, side in ((True, "long"), (False, "short")):
            ps = [p for p in by.get(m.market, []) if p.is_long == is_long]
            row[f"oi_{side}"] = dec(Fraction(sum(p.size_in_usd for p in ps), scale), places)
            row[f"positions_{side}"] = len(ps)
            coll = [p.collateral_usd for p in ps]   # a side's sum only where every position carries it
            row[f"collateral_{side}"] = (dec(Fraction(sum(c for c in coll if c is not None), scale), places)
                                         if all(c is not None for c in coll) else None)
        out.append(row)
    return out


def _match(markets: list[dict[str, Any]], want: str, key: str = "market") -> dict[str, Any] | None:
    w = want.strip().lower()
    for m in markets:
        if str(m[key]).lower() == w or str(m["name"]).lower() == w:
            return m
    hits = [m for m in markets if m["name"].split("/")[0].lower() == w]
    if len(hits) > 1:
        raise InputError(f"market {want!r} is ambiguous: {', '.join(m['name'] for m in hits)}; give the full name "
                         "or the market token address")
    return hits[0] if hits else None


def series(db_url: str | None, market: str, metrics: str | list[str] | None = None, from_: str | int | None = None,
           to: str | int | None = None, chain_id: int | None = None, protocol: str | None = None) -> Series:
    """One market's metrics at every stored on-chain-priced snapshot in range, ascending by block.

    ``market``: the protocol's market id (GMX v2: market token address; Hyperliquid: perp index), its
    full name or its index symbol when unique (``ETH``). ``protocol`` (a registry name or key) narrows
    the snapshots to one protocol. A block stored twice (a reorg) counts once: the newest snapshot of
    that number stands.
    """
    from defi_perps.store.db import _first_line, get_engine
    from defi_perps.store.queries import load_snapshot
    from defi_perps.store.summaries import cached_summaries, store_summary

    plugins = [registry.get(protocol)] if protocol else [registry.get(n) for n in registry.names()]
    # a metric no protocol has fails before the store; one another protocol has, once the market is found
    asked = parse_metrics(metrics) if metrics else None
    lo, hi = Bound.parse(from_, "--from"), Bound.parse(to, "--to")
    # each protocol's own price source, never a --prices what-if (index ix_snapshot_series serves this)
    own = " OR ".join(f"(protocol = :pk{i} AND price_source = :ps{i})" for i in range(len(plugins)))
    params: dict[str, Any] = {}
    for i, p in enumerate(plugins):
        params[f"pk{i}"], params[f"ps{i}"] = p.key, p.default_price_source
    q = ("SELECT id, chain_id, data_store, block_number, block_timestamp, block_hash, protocol, price_source "
         f"FROM snapshot WHERE ({own})")
    if chain_id is not None:
        q += " AND chain_id = :cid"
        params["cid"] = chain_id
    for b, op, nm in ((lo, ">=", "lo"), (hi, "<=", "hi")):
        if b is not None:
            clause, p_ = b.sql(op, nm)
            q += clause
            params.update(p_)
    q += " ORDER BY block_number, id"
    try:
        with get_engine(db_url, create=False).connect() as c:
            snaps = c.execute(text(q), params).all()
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read snapshots: {_first_line(err)}") from None
    if not snaps:
        raise SnapshotNotFound("no stored snapshots in that range: index some blocks first "
                               "(`defi-perps index PROTOCOL --from-block A --to-block B`)")
    by_key = {p.key: p for p in plugins}
    cache = cached_summaries(db_url, [int(s[0]) for s in snaps if by_key[str(s[6])].series_metrics])
    picked: dict[tuple[int, str, str], dict[int, tuple[Any, dict[str, Any]]]] = {}
    for s in snaps:
        sid, plugin = int(s[0]), by_key[str(s[6])]
        want = asked or list(plugin.series_defaults or SHARED_DEFAULTS)
        values: dict[str, Any] | None = None
        snap = None
        if plugin.series_metrics:
            summ = cache.get(sid)
            if summ is None:      # not cached yet (indexed by an older version): compute once, cache
                snap = load_snapshot(db_url, sid)
                summ = plugin.summarize(snap)
                store_summary(db_url, sid, summ)
            m = _match(summ["markets"], market, plugin.series_summary_key)
            if m is None:
                continue
            values = {"market": m[plugin.series_summary_key], "name": m["name"]}
            for name in want:
                if name in plugin.series_metrics:
                    fld, sub, _ = plugin.series_metrics[name]
                    v = m.get(fld)
                    if sub is not None:
                        v = v.get(sub) if isinstance(v, dict) else None
                    values[name] = v
        if values is None or any(n not in plugin.series_metrics and n in SHARED_METRICS for n in want):
            if snap is None:
                snap = load_snapshot(db_url, sid)
            sm = _match(shared_values(plugin, snap), market, "market")
            if sm is None:
                continue
            if values is None:
                values = {"market": sm["market"], "name": sm["name"]}
            for name in want:
                if name not in plugin.series_metrics and name in SHARED_METRICS:
                    values[name] = sm[name]
        picked.setdefault((int(s[1]), plugin.key, str(s[2]).lower()), {})[int(s[3])] = (s, values)  # newest id wins
    if not picked:
        raise InputError(f"market {market!r} is in none of the {len(snaps)} stored snapshots in range "
                         "(give its market id, full name, or a unique index symbol)")
    if len(picked) > 1:
        where = ", ".join(f"chain {c} {pk} {d[:10]}…" for c, pk, d in picked)
        raise InputError(f"market {market!r} appears in snapshots of several deployments ({where}); "
                         "pass --chain-id or --protocol")
    (cid, pkey, ds), by_block = next(iter(picked.items()))
    plugin = by_key[pkey]
    mine = known_metrics([plugin])
    names = asked or list(plugin.series_defaults or SHARED_DEFAULTS)
    missing = [n for n in names if n not in mine]
    if missing:
        raise InputError(f"metric {missing[0]!r} is not available for {plugin.name} (available: "
                         f"{', '.join(sorted(mine))})")
    rows = []
    for bn in sorted(by_block):
        s, v = by_block[bn]
        row: dict[str, Any] = {"snapshot_id": int(s[0]), "block_number": bn, "block_timestamp": int(s[4]),
                               "block_hash": str(s[5]),
                               "time": datetime.fromtimestamp(int(s[4]), UTC).isoformat()}
        for name in names:
            row[name] = v.get(name)
        rows.append(row)
    first_s, first = by_block[min(by_block)]
    return Series(str(first["market"]), str(first["name"]), cid, ds, names, rows, protocol=pkey,
                  price_source=str(first_s[7]), unit_of={n: mine[n] for n in names})
