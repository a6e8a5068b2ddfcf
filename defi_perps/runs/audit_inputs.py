"""The one adapter between runs (audit, record, rerun, the API) and the code that computes results.

Everything that knows how the indexer, the book loader, the scenario setup, the engine and the
venue rules are called today lives here, and nowhere else in ``runs/``, ``report/`` or ``api.py``:
when the simulator's orchestration changes (issue 7: ``runs/simulate.py``, ``runs/compare.py``,
the per-venue JSON shape), only this module is re-pointed.

What leaves this module is an :class:`Outcome` per (book, scenario, venue) run: plain NumPy arrays
per path and per market, and :meth:`Outcome.row` in the issue-7 output shape (venue, rules, means
of liquidated notional, bad debt, ADL notional, ``paid_by`` per party, tail quantiles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from defi_perps.engine.results import PAID_BY
from defi_perps.exceptions import InputError

# who absorbs a loss beyond collateral (issue 7 item 3)
PARTIES: tuple[str, ...] = PAID_BY   # engine/results.py: every payer, a clearing house's layers included
TAIL = (0.5, 0.95, 0.99)


@dataclass
class Outcome:
    """One run of one venue's rules on one book under one scenario, as arrays."""

    venue: str                                  # a venue name, or "generic"
    display: str
    rules: dict[str, Any]                       # the engine rules as applied (codes by name)
    params: dict[str, Any] | None               # the venue file's parameters, sources included
    market_names: list[str]
    start_price: np.ndarray                     # float64[M]
    open_interest: np.ndarray                   # float64[M, 2] USD at the book's price
    per_path: dict[str, np.ndarray]             # float64[P] each; paid_by.<party> for the waterfall
    by_market: dict[str, np.ndarray]            # float64[P, M] each
    fund_path: np.ndarray                       # float64[P, R] insurance fund / vault balance
    fund_initial: float
    fund_step_seconds: float                    # time between fund_path points
    detail: dict[str, np.ndarray]               # first D paths per step: mark/exog [D, T+1, M], liq [D, T, M]
    step_seconds: float
    adl_haircuts: np.ndarray                    # float64[K] USD haircut of each ADL'd position per event
    engine: str = ""
    threads: int | None = None
    notes: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)   # what `simulate --json --include-paths` prints
    argv: list[str] = field(default_factory=list)           # the `simulate` command line of this run

    @property
    def n_paths(self) -> int:
        return int(self.per_path["liquidated_notional_usd"].size)

    def row(self) -> dict[str, Any]:
        """The issue-7 venue row: means across paths, ``paid_by`` per party, tail quantiles."""
        pp = self.per_path
        tails = {}
        for key in ("liquidated_notional_usd", "bad_debt_usd", "adl_notional_usd"):
            qs = np.quantile(pp[key], TAIL)
            tails[key] = {f"p{round(q * 100)}": float(v) for q, v in zip(TAIL, qs)}
        return {
            "venue": self.venue, "display": self.display, "rules": self.rules_summary(),
            "paths": self.n_paths,
            "liquidated_notional_usd": float(pp["liquidated_notional_usd"].mean()),
            "bad_debt_usd": float(pp["bad_debt_usd"].mean()),
            "adl_notional_usd": float(pp["adl_notional_usd"].mean()),
            "adl_haircut_usd": float(pp["adl_haircut_usd"].mean()),
            "paid_by": {p: float(pp[f"paid_by.{p}"].mean()) for p in PARTIES},
            "tail": tails,
        }

    def rules_summary(self) -> dict[str, Any]:
        keep = ("trigger_price", "execution", "bad_debt_absorber", "adl_trigger", "adl_fill", "partial_threshold_usd",
                "partial_fraction", "backstop_mm_fraction", "insurance_initial", "liq_fee_rate")
        return {k: self.rules[k] for k in keep if k in self.rules}

    def digest_arrays(self) -> dict[str, np.ndarray]:
        """Every array a figure or table is drawn from, by name (what a run's digest covers)."""
        out = {f"per_path.{k}": v for k, v in self.per_path.items()}
        out.update({f"by_market.{k}": v for k, v in self.by_market.items()})
        out.update({f"detail.{k}": v for k, v in self.detail.items()})
        out["fund_path"] = self.fund_path
        out["adl_haircuts"] = self.adl_haircuts
        return out


# -- books and snapshots -------------------------------------------------------------------------

def load_book(db_url: str | None, snapshot_id: int | str = "latest") -> Any:
    from defi_perps.book import load_snapshot_book

    return load_snapshot_book(db_url, snapshot_id)


def synthetic(n: int, markets: int, seed: int) -> Any:
    from defi_perps.book import synthetic_book

    return synthetic_book(n, n_markets=markets, seed=seed)


def book_file(path: str) -> Any:
    from defi_perps.book import read_book_file

    return read_book_file(path)


def load_snapshot_record(db_url: str | None, snapshot_id: int | str = "latest") -> Any:
    """The stored snapshot as exact domain records (``domain.Snapshot``)."""
    from defi_perps.store.queries import load_snapshot

    return load_snapshot(db_url, snapshot_id)


def snapshot_health(db_url: str | None, snapshot_id: int) -> dict[str, Any]:
    """The exact per-market summary (``snapshots show``). GMX v2: prices, pool value, OI, pnl-to-pool vs
    the ADL thresholds, liquidation distances; decimal strings computed with the contract's integers.
    Any other protocol: its plug-in's own summary (``ProtocolPlugin.summarize``: ``protocol``,
    ``markets``, ``totals``, exact values as decimal strings), with ``shared`` set to True."""
    from defi_perps.protocols import registry

    snap = load_snapshot_record(db_url, snapshot_id)
    key = str(snap.meta.protocol)
    if key == "gmx_v2":
        from defi_perps.indexer.summary import summarize

        return summarize(snap)
    summary = dict(registry.get(key).summarize(snap))
    summary["shared"] = True
    for k, v in (("price_source", snap.meta.price_source), ("block_hash", snap.meta.block_hash),
                 ("chain_id", snap.meta.chain_id), ("block_number", snap.meta.block_number)):
        summary.setdefault(k, v)
    summary.setdefault("positions", len(snap.positions))
    return summary


def protocol_title(protocol: str) -> str:
    """A registered protocol's display title (``gtrade`` → ``gTrade v8+``); a one-line error otherwise."""
    from defi_perps.protocols import registry

    return str(registry.get(protocol).title)


def protocol_names() -> tuple[str, ...]:
    from defi_perps.protocols import registry

    return registry.names()


def snapshot_provenance(db_url: str | None, snapshot_id: int) -> dict[str, Any]:
    from defi_perps.store.queries import list_snapshots

    for s in list_snapshots(db_url):
        if s.id == snapshot_id:
            return {"snapshot_id": s.id, "chain_id": s.chain_id, "chain_name": s.chain_name,
                    "block_number": s.block_number, "block_hash": s.block_hash, "block_timestamp": s.block_timestamp,
                    "protocol": s.protocol, "price_source": s.price_source, "positions": s.position_count,
                    "markets": s.market_count}
    raise InputError(f"no snapshot with id {snapshot_id}")


def pnl_to_pool_curves(db_url: str | None, snapshot_id: int, moves_pct: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per market, GMX's pnl-to-pool factor for longs and shorts as the index price moves by each of
    ``moves_pct`` percent, with the exact contract integers (``getPnlToPoolFactor``, maximized as ADL
    reads it), and the smallest move on the grid that takes each side past MAX_PNL_FACTOR_FOR_ADL.

    Only the index token's price moves (a pool token that *is* the index token moves with it);
    other pool tokens keep their snapshot price.
    """
    from dataclasses import replace as dc_replace

    from defi_perps.domain import USD_SCALE
    from defi_perps.protocols.gmx_v2 import math as gm

    snap = load_snapshot_record(db_url, snapshot_id)
    tokens = {t.address.lower(): t for t in snap.tokens}
    by = {p.token.lower(): gm.Price.of(p) for p in snap.prices}
    out = []
    for m in snap.markets:
        idx_addr = m.index_token.lower()
        if idx_addr not in by or m.long_token.lower() not in by or m.short_token.lower() not in by:
            continue
        name = f"{_sym(tokens, m.index_token)}/USD [{_sym(tokens, m.long_token)}-{_sym(tokens, m.short_token)}]"

        def moved(addr: str, k: int, idx_addr: str = idx_addr) -> gm.Price:
            p = by[addr.lower()]
            if addr.lower() != idx_addr:
                return p
            return dc_replace(p, min=p.min * (100 + k) // 100, max=p.max * (100 + k) // 100)

        longs, shorts = [], []
        for k in moves_pct:
            prices = gm.MarketPrices(moved(m.index_token, k), moved(m.long_token, k), moved(m.short_token, k))
            longs.append(gm.pnl_to_pool_factor(m, prices, True, True) / USD_SCALE)
            shorts.append(gm.pnl_to_pool_factor(m, prices, False, True) / USD_SCALE)
        thr = {"long": m.max_pnl_factor_for_adl_long / USD_SCALE, "short": m.max_pnl_factor_for_adl_short / USD_SCALE}
        trig: dict[str, int | None] = {}
        for side, vals in (("long", longs), ("short", shorts)):
            hits = [k for k, v in zip(moves_pct, vals) if v > 0 and v > thr[side]]
            trig[side] = min(hits, key=abs) if hits and thr[side] > 0 else None
        out.append({"market": name, "moves_pct": list(moves_pct), "long": longs, "short": shorts,
                    "threshold": thr, "adl_trigger_move": trig,
                    "enabled": {"long": m.is_adl_enabled_long, "short": m.is_adl_enabled_short}})
    return out


def _sym(tokens: dict[str, Any], addr: str) -> str:
    t = tokens.get(addr.lower())
    return t.symbol if t is not None else addr[:8]


def index_or_reuse(protocol: str, chain_name: str | None, chain_file: str | None, rpc_url: str | None,
                   block: int | None, db_url: str | None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Index ``protocol`` at ``block`` (default: the latest) unless that block is already stored.

    Returns the snapshot id, whether it was written now, warnings and the RPC figures.
    """
    from defi_perps.config import load_chain
    from defi_perps.indexer.job import index_protocol
    from defi_perps.protocols import registry

    plugin = registry.get(protocol)        # an unknown name fails in one line, before the chain file is read
    chain = load_chain(chain_name, chain_file)
    report, _ = index_protocol(plugin.name, chain, rpc_url, block, db_url, None, progress=progress)
    return {"snapshot_id": report.snapshot_id, "created": report.created, "warnings": list(report.warnings),
            "chain": report.chain, "block_number": report.block_number, "round_trips": report.round_trips,
            "elapsed_s": report.elapsed_s}


# -- scenarios -----------------------------------------------------------------------------------

def scenario_setup(book: Any, scenario: str | None = None, shock: str | None = None, horizon: str | None = None,
                   step: str | None = None, depth_stress: float | None = None,
                   volatility: float | None = None) -> Any:
    """The exogenous setup (price model, depth, funding, base path) that ``simulate`` and ``compare``
    build from the same options."""
    from defi_perps.scenarios.setup import make_setup

    return make_setup(book, shock=shock, scenario=scenario, horizon=horizon, step=step, depth_stress=depth_stress,
                      volatility=volatility)


def scenario_text(name_or_path: str) -> tuple[str, str]:
    """(origin, TOML text) of a built-in scenario or a scenario file: what a stored run keeps."""
    from importlib import resources
    from pathlib import Path

    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        try:
            return str(p), p.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot read scenario {name_or_path}: {err.strerror}") from None
    try:
        text = (resources.files("defi_perps.scenarios") / "builtin" / f"{name_or_path}.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        from defi_perps.scenarios.scenario import builtin_names

        raise InputError(f"unknown scenario {name_or_path!r}; built-in: {', '.join(builtin_names())}") from None
    return f"builtin:{name_or_path}", text


def scenario_applies(book: Any, name_or_path: str) -> bool:
    """Whether a scenario moves any of the book's markets (JELLY's scenario does not apply to a book
    without JELLY)."""
    from defi_perps.scenarios.scenario import load_scenario

    return load_scenario(name_or_path).applies_to(list(book.market_names))


def builtin_scenarios() -> list[str]:
    from defi_perps.scenarios.scenario import builtin_names

    return list(builtin_names())


def setup_info(setup: Any) -> dict[str, Any]:
    return {"description": setup.describe(), "scenario": setup.info(), "steps": setup.n_steps,
            "step_seconds": setup.step_seconds, "depth_stress": setup.depth.stress}


# -- venues --------------------------------------------------------------------------------------

def venue_names() -> list[str]:
    from defi_perps.venues.params import VENUE_NAMES

    return list(VENUE_NAMES)


def venue_params(name: str) -> dict[str, Any]:
    """A venue's parameters with their sources, as stored with a run."""
    from defi_perps.venues import load_venue

    return load_venue(name).model_dump()


# -- running -------------------------------------------------------------------------------------

def simulate_venue(book: Any, setup: Any, venue: str | None, n_paths: int, seed: int, *,
                   adl_policy: str = "venue", threads: int | None = None, n_detail: int = 8,
                   progress: Callable[[int], None] | None = None) -> Outcome:
    """``simulate --venue V`` (or the generic rules when ``venue`` is None) as an :class:`Outcome`.

    The same calls as the ``simulate`` command: rules from the venue file (fund sized from the
    book's open interest), the venue's ADL ranking allocating the engine's ADL events over accounts.
    """
    from defi_perps.engine.codes import Event
    from defi_perps.runs.simulate import GENERIC_NAME, run_simulate

    # the one code path of `simulate --venue V` (runs/simulate.py): the venue's admission of the book
    # (margin top-up, market-maker accounts), its rules and per-position maintenance, in-path ADL
    run = run_simulate(book, setup, venue or GENERIC_NAME, n_paths=n_paths, seed=seed, adl_policy=adl_policy,
                       threads=threads, detail_paths=n_detail, progress=progress)
    res = run.result
    params = run.inputs.params if run.inputs is not None else None
    rules = run.inputs.rules if run.inputs is not None else res.rules
    o, t = res.outputs, res.totals
    paid = res.paid_by()
    per_path = {
        "liquidated_notional_usd": t["liq_notional"].copy(),
        "liquidations": t["liquidations"].copy(),
        "bad_debt_usd": t["bad_debt"].copy(),
        "adl_notional_usd": t["adl_notional"].copy(),
        "adl_haircut_usd": t["adl_haircut"].copy(),
        "insurance_fund_final_usd": t["fund"].copy(),
        "insurance_fund_min_usd": t["fund_min"].copy(),
        "liquidation_fees_usd": t["liq_fees"].copy(),
        **{f"paid_by.{k}": v for k, v in paid.items()},
    }
    p0 = book.price[None, :]
    by_market = {
        "liquidated_notional_usd": o.liq_notional.sum(axis=2),
        "bad_debt_usd": o.bad_debt.copy(),
        "min_price_drop": 1.0 - o.min_mark / p0,
        "exogenous_min_price_drop": 1.0 - o.min_exog / p0,
        "cascade_amplification": res.amplification(),
    }
    detail = {"mark": o.det_mark.copy(), "exogenous": o.det_exog.copy(),
              "liquidated_notional_usd": o.det_liq_notional.sum(axis=3)}
    # haircut of each ADL event kept per path (the first max_events of each path)
    kept = np.arange(o.events.shape[1])[None, :] < np.minimum(o.n_events, o.events.shape[1])[:, None]
    ev = o.events[kept]
    adl_haircuts = ev["haircut"][np.isin(ev["kind"], (Event.ADL_BANKRUPT, Event.ADL_PNL_FACTOR)) & (ev["haircut"] > 0)].astype(np.float64) \
        if ev.size else np.zeros(0)
    rules_dict = rules.to_dict()
    notes = []
    short = int((t["uncovered"] > 0).sum())
    if short:
        notes.append(f"{short} path(s) left a shortfall nothing absorbed")
    return Outcome(
        venue=venue or "generic", display=params.display if params is not None else "generic rules",
        rules=rules_dict, params=params.model_dump() if params is not None else None,
        market_names=list(book.market_names), start_price=book.price.copy(), open_interest=book.open_interest(),
        per_path=per_path, by_market=by_market, fund_path=o.insurance_path.copy(),
        fund_initial=float(rules.insurance_initial), fund_step_seconds=res.record_every * setup.step_seconds,
        detail=detail, step_seconds=setup.step_seconds, adl_haircuts=adl_haircuts, engine=res.engine,
        threads=res.threads, notes=notes, payload=run.to_dict(include_paths=True))


def simulate_argv(book_ref: dict[str, Any], *, scenario: str | None = None, shock: str | None = None,
                  horizon: str | None = None, step: str | None = None, depth_stress: float | None = None,
                  venue: str | None = None, adl_policy: str = "venue", n_paths: int, seed: int,
                  threads: int | None, n_detail: int) -> list[str]:
    """The ``simulate`` command line equal to :func:`simulate_venue` with these arguments (stored with
    the run, so ``runs rerun`` replays it through the command itself)."""
    argv = ["simulate"]
    if "snapshot_id" in book_ref:
        argv += ["--snapshot", str(book_ref["snapshot_id"])]
    elif "synthetic" in book_ref:
        argv += ["--synthetic", str(book_ref["synthetic"]), "--markets", str(book_ref["markets"])]
    else:
        argv += ["--book", str(book_ref["file"])]
    for opt, value in (("--scenario", scenario), ("--shock", shock), ("--horizon", horizon), ("--step", step),
                       ("--depth-stress", None if depth_stress is None else repr(float(depth_stress))),
                       ("--venue", venue)):
        if value is not None:
            argv += [opt, str(value)]
    if venue is not None and adl_policy != "venue":
        argv += ["--adl-policy", adl_policy]
    argv += ["--paths", str(n_paths), "--seed", str(seed), "--detail-paths", str(n_detail), "--include-paths"]
    if threads is not None:
        argv += ["--threads", str(threads)]
    return argv


def thread_count(threads: int | None) -> int:
    """The thread count a run will use (recorded: results are bit-identical for one seed and count)."""
    from defi_perps.engine._jit import jit_disabled

    if jit_disabled():
        return 1
    import numba

    return int(min(threads, numba.config.NUMBA_NUM_THREADS)) if threads else int(numba.get_num_threads())  # type: ignore[attr-defined]


__all__ = [
    "PARTIES",
    "Outcome",
    "book_file",
    "builtin_scenarios",
    "index_or_reuse",
    "load_book",
    "load_snapshot_record",
    "pnl_to_pool_curves",
    "protocol_names",
    "protocol_title",
    "scenario_applies",
    "scenario_setup",
    "scenario_text",
    "setup_info",
    "simulate_argv",
    "simulate_venue",
    "snapshot_health",
    "snapshot_provenance",
    "synthetic",
    "thread_count",
    "venue_names",
    "venue_params",
]
