"""The Python API: snapshots, books, simulations, venue comparisons and audits as DataFrames.

>>> from defi_perps import api
>>> snap = api.load_snapshot("latest")                        # doctest: +SKIP
>>> book = api.book_from_snapshot(snap)                       # doctest: +SKIP
>>> run = api.simulate(book, scenario="oct-10-2025", venue="gmx-v2", paths=200)   # doctest: +SKIP
>>> run.to_pandas().describe()                                # per-path results  # doctest: +SKIP
>>> cmp = api.compare(book, venues=["gmx-v2", "hyperliquid", "binance"], scenario="oct-10-2025")  # doctest: +SKIP
>>> cmp.to_pandas()[["venue", "bad_debt_usd", "paid_by_pool_usd"]]                # doctest: +SKIP
>>> cmp.plot()                                                # who pays, by venue  # doctest: +SKIP
>>> rep = api.audit(chain="devnet", paths=100)                # the `defi-perps audit` report  # doctest: +SKIP
>>> atk = api.attack(scenario="mango-2022")                   # an incident replay  # doctest: +SKIP
>>> atk.summary["attacker_net_usd"], atk.record_check()       # model vs the record  # doctest: +SKIP
>>> api.attack(snap, market="ETH", capital="20M").paid_by     # best attack on a market  # doctest: +SKIP

Every result object has ``.to_pandas()``, ``.to_arrow()`` (a ``pyarrow.Table``) and ``.plot()``
(a matplotlib Figure in the report's style). Money is USD, shares are fractions. The same seed and
thread count give bit-identical numbers to the CLI (``simulate --venue V``), and ``audit`` stores
its runs exactly as ``defi-perps audit`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from defi_perps.exceptions import InputError
from defi_perps.runs import audit_inputs as ai


def _arrow(df: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


# -- snapshots and books --------------------------------------------------------------------------

@dataclass
class Snapshot:
    """A stored protocol snapshot: exact records (``.record``) plus DataFrame views."""

    id: int
    record: Any                  # defi_perps.domain.Snapshot (exact on-chain integers)
    provenance: dict[str, Any]   # chain id, block number and hash, protocol, price source
    db_url: str | None = None

    def health(self) -> dict[str, Any]:
        """The exact per-market summary of ``defi-perps snapshots show`` (decimal strings)."""
        return ai.snapshot_health(self.db_url, self.id)

    def to_pandas(self) -> pd.DataFrame:
        """Per market: price, pool value, OI, pnl-to-pool vs ADL thresholds (floats from the exact strings)."""
        rows = []
        for m in self.health()["markets"]:
            rows.append({k: (float(v) if isinstance(v, str) and k not in ("market", "name") else v)
                         for k, v in m.items() if not isinstance(v, dict)})
        return pd.DataFrame(rows)

    def positions(self) -> pd.DataFrame:
        """Every open position with its exact integers (Python ints: no precision lost)."""
        from dataclasses import asdict

        return pd.DataFrame([asdict(p) for p in self.record.positions])

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """pnl-to-pool vs the ADL thresholds as the index price moves (exact contract math)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.audit import PNL_MOVES

        return draw("pnl_to_pool", {"curves": ai.pnl_to_pool_curves(self.db_url, self.id, PNL_MOVES)}, None)


def load_snapshot(snapshot: int | str = "latest", db: str | None = None) -> Snapshot:
    """A stored snapshot by id (or ``"latest"``) from ``db`` (default: the local SQLite store)."""
    rec = ai.load_snapshot_record(db, snapshot)
    return Snapshot(rec.meta.id, rec, ai.snapshot_provenance(db, rec.meta.id), db)


def book_from_snapshot(snapshot: Snapshot | int | str = "latest", db: str | None = None) -> Any:
    """The engine's float64 book (:class:`defi_perps.book.arrays.Book`) of a stored snapshot."""
    if isinstance(snapshot, Snapshot):
        return ai.load_book(snapshot.db_url, snapshot.id)
    return ai.load_book(db, snapshot)


def synthetic_book(positions: int, markets: int = 4, seed: int = 0) -> Any:
    """A seeded synthetic book (the same as ``--synthetic N --markets M --seed S``)."""
    return ai.synthetic(positions, markets, seed)


# -- simulate and compare -------------------------------------------------------------------------

@dataclass
class SimulationRun:
    """One venue's rules on one book and scenario: per-path and per-market results."""

    outcome: ai.Outcome
    setup: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        """The issue-7 venue row: means, ``paid_by`` per party, tail quantiles."""
        return self.outcome.row()

    def to_pandas(self) -> pd.DataFrame:
        """One row per path: liquidated notional, bad debt, ADL, fund, and ``paid_by.<party>`` in USD."""
        return pd.DataFrame({k: np.asarray(v) for k, v in self.outcome.per_path.items()})

    def by_market(self) -> pd.DataFrame:
        """One row per (path, market): liquidated notional, bad debt, price drops, amplification."""
        o = self.outcome
        p, m = o.by_market["bad_debt_usd"].shape
        df = pd.DataFrame({"path": np.repeat(np.arange(p), m), "market": np.tile(np.asarray(o.market_names), p)})
        for k, v in o.by_market.items():
            df[k] = np.asarray(v).reshape(-1)
        return df

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """Price-path fan chart with liquidation volume (needs ``detail_paths`` > 0)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.audit import fan_data

        return draw("fan_chart", fan_data(self.outcome, self.outcome.open_interest,
                                          f"{self.setup['description']} — {self.outcome.display}"), None)


def simulate(book: Any, *, scenario: str | None = None, shock: str | None = None, venue: str | None = None,
             paths: int = 1000, seed: int = 0, horizon: str | None = None, step: str | None = None,
             depth_stress: float | None = None, volatility: float | None = None, adl_policy: str = "venue",
             threads: int | None = None, detail_paths: int = 32) -> SimulationRun:
    """Monte Carlo liquidation cascades: ``defi-perps simulate`` with the same options.

    ``venue`` picks a venue's rules (``gmx-v2``, ``hyperliquid``, …); None runs the generic rules.
    """
    if paths < 1:
        raise InputError("paths must be at least 1")
    setup = ai.scenario_setup(book, scenario=scenario, shock=shock, horizon=horizon, step=step,
                              depth_stress=depth_stress, volatility=volatility)
    out = ai.simulate_venue(book, setup, venue, paths, seed, adl_policy=adl_policy, threads=threads,
                            n_detail=min(detail_paths, paths))
    return SimulationRun(out, ai.setup_info(setup))


@dataclass
class Comparison:
    """The same book and paths under several venues' rules."""

    runs: list[SimulationRun]

    def rows(self) -> list[dict[str, Any]]:
        return [r.summary for r in self.runs]

    def to_pandas(self) -> pd.DataFrame:
        """One row per venue: means of liquidated notional, bad debt, ADL, ``paid_by_<party>_usd``, tails."""
        out = []
        for r in self.rows():
            row = {k: v for k, v in r.items() if k not in ("paid_by", "tail", "rules")}
            row.update({f"paid_by_{k}_usd": v for k, v in r["paid_by"].items()})
            row.update({f"{k}_{q}": v for k, t in r["tail"].items() for q, v in t.items()})
            out.append(row)
        return pd.DataFrame(out)

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """Who pays for bad debt, by venue (stacked bars)."""
        from defi_perps.report.figures import draw

        return draw("who_pays", {"rows": [{"name": r["display"], "paid_by": r["paid_by"]} for r in self.rows()]},
                    None)


def compare(book: Any, *, venues: list[str] | None = None, scenario: str | None = None, shock: str | None = None,
            paths: int = 200, seed: int = 0, horizon: str | None = None, step: str | None = None,
            depth_stress: float | None = None, adl_policy: str = "venue", threads: int | None = None) -> Comparison:
    """Every venue (default: all) on the same book and seeded paths; one :class:`SimulationRun` each."""
    names = venues or ai.venue_names()
    return Comparison([simulate(book, scenario=scenario, shock=shock, venue=v, paths=paths, seed=seed, horizon=horizon,
                                step=step, depth_stress=depth_stress, adl_policy=adl_policy, threads=threads,
                                detail_paths=0) for v in names])


# -- attack ----------------------------------------------------------------------------------------

@dataclass
class AttackResult:
    """An oracle-manipulation attack (``defi-perps attack``): an incident replay or the best attack on
    one market of a book. ``payload`` is exactly the command's ``--json`` output (same numbers, same
    digest as the stored run of the same command line)."""

    payload: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        """Oracle move, attacker cost / gross profit / net (USD), liquidated notional, ``paid_by``."""
        keys = ("name", "oracle_move", "attacker_cost_usd", "attacker_profit_usd", "attacker_net_usd",
                "liquidated_notional_usd", "paid_by")
        return {k: self.payload[k] for k in keys if k in self.payload}

    @property
    def paid_by(self) -> pd.Series:
        """USD lost per party (insurance fund, pool, backstop vault, …, liquidated traders)."""
        return pd.Series(self.payload["paid_by"], name="paid_by_usd", dtype=float)

    def to_pandas(self) -> pd.DataFrame:
        """One row per engine path (an incident replay is one path): the attacker's cost, profit and
        net, liquidated notional, bad debt and ``paid_by.<party>`` in USD. Means over the rows are
        the summary's figures."""
        p = self.payload
        per = (p.get("details") or {}).get("per_path")
        paid = p["paid_by"]
        base = {"attacker_cost_usd": p["attacker_cost_usd"], "attacker_profit_usd": p["attacker_profit_usd"]}
        if per is None:
            bad = (p.get("details") or {}).get("bad_debt_usd", 0.0)
            row = {"path": 0, **base, "attacker_net_usd": p["attacker_net_usd"],
                   "liquidated_notional_usd": p["liquidated_notional_usd"], "bad_debt_usd": bad}
            row.update({f"paid_by.{k}": v for k, v in paid.items()})
            return pd.DataFrame([row])
        n = len(per["liquidated_notional_usd"])
        df = pd.DataFrame({"path": np.arange(n), **{k: np.full(n, v) for k, v in base.items()},
                           "attacker_net_usd": np.asarray(per["attacker_net_usd"], float),
                           "liquidated_notional_usd": np.asarray(per["liquidated_notional_usd"], float),
                           "bad_debt_usd": np.asarray(per["bad_debt_usd"], float)})
        cascade = per.get("cascade_paid_by") or {}
        for k, v in paid.items():
            col = np.full(n, float(v))
            if k in cascade:     # the cascade's share varies by path; the rest (the attack itself) does not
                c = np.asarray(cascade[k], float)
                col = col - c.mean() + c
            df[f"paid_by.{k}"] = col
        return df

    def record_check(self) -> pd.DataFrame:
        """An incident's model-vs-record figures (empty for an attack on a book)."""
        return pd.DataFrame(self.payload.get("record_check") or [],
                            columns=["figure", "model", "record", "ratio", "within_order_of_magnitude", "source"])

    def price_path(self) -> pd.DataFrame:
        """An incident's oracle (or mark / collateral) price over its start, per step (empty for a book)."""
        d = self.payload.get("details") or {}
        for key in ("oracle_path", "mark_path", "price_path"):
            if key in d:
                v = np.asarray(d[key], float)
                return pd.DataFrame({"step": np.arange(v.size), key.replace("_path", "_ratio"): v})
        return pd.DataFrame({"step": pd.Series([], dtype=int)})

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """Who lost what to the attack and the attacker's cost / profit / net (bars); an incident also
        shows its oracle path."""
        from defi_perps.report.attack_figure import attack_figure

        path = self.price_path()
        series = path.iloc[:, 1].tolist() if path.shape[1] > 1 else []
        return attack_figure({**self.summary, "price_path": series,
                              "title": self.payload.get("description") or self.payload.get("name", "attack")}, None, [])


def attack(target: Any = None, *, scenario: str | None = None, market: str | None = None,
           capital: float | str | None = None, oracle: str | None = None, side: str | None = None,
           venue: str = "gmx-v2", reference_venues: str | Path | None = None, paths: int = 1,
           volatility: float = 0.0, seed: int = 0) -> AttackResult:
    """``defi-perps attack``: ``scenario=`` replays an incident (``mango-2022``, ``xpl-2025``, … or a
    TOML file); otherwise attacks ``market`` of ``target`` (a :class:`Snapshot`, whose GMX v2 market
    parameters set the caps and fees, or a book) with ``capital`` USD (a number or ``"20M"``).

    ``side`` is ``"up"``, ``"down"`` or None (the better); ``paths`` > 1 with ``volatility`` > 0 adds
    market noise to the engine run. The payload equals the CLI's ``--json`` for the same options."""
    if scenario is not None:
        if target is not None or market is not None or capital is not None:
            raise InputError("scenario= replays an incident; drop the target, market and capital")
        from defi_perps.runs.attack import run_incident
        from defi_perps.scenarios.incidents import load_incident

        return AttackResult(run_incident(load_incident(scenario), seed=seed))
    if target is None or market is None or capital is None:
        raise InputError("give scenario=, or a target (snapshot or book) with market= and capital=")
    if paths < 1:
        raise InputError("paths must be at least 1")
    if side not in (None, "up", "down"):
        raise InputError(f"side must be 'up', 'down' or None, got {side!r}")
    from defi_perps.commands.manipulation import parse_usd
    from defi_perps.runs.attack import book_attack
    from defi_perps.runs.attack_engine import venue_rules
    from defi_perps.runs.manipulation import legs_from_book

    budget = parse_usd(str(capital), "capital")
    params = None
    if isinstance(target, Snapshot):
        from defi_perps.book.market_params import gmx_v2_market_params

        params = gmx_v2_market_params(target.record)
        book = book_from_snapshot(target)
    else:
        book = target
    if book.n_positions == 0:
        raise InputError("the book has no open positions")
    rules = venue_rules(venue, book, 60.0)
    legs = legs_from_book(book, venue, params, "none")
    return AttackResult(book_attack(book, legs, rules, market, budget, venue=venue, oracle=oracle,
                                    side=None if side is None else (1 if side == "up" else -1),
                                    ref_file=None if reference_venues is None else str(reference_venues),
                                    n_paths=paths, volatility=volatility, seed=seed))


# -- audit -----------------------------------------------------------------------------------------

@dataclass
class AuditReport:
    """An audit's report folder and everything in it, as Python objects."""

    result: Any      # defi_perps.runs.audit.AuditResult

    @property
    def path(self) -> Path:
        return self.result.report_html

    @property
    def run_id(self) -> int | None:
        return self.result.run_id

    @property
    def summary(self) -> dict[str, Any]:
        return self.result.summary

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: df for s in self.result.sections for name, df in s.tables.items()}

    def to_pandas(self) -> pd.DataFrame:
        """The findings: key, label, value, display, meaning, section, run ids."""
        return pd.DataFrame([f.to_dict() for f in self.result.findings])

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self, name: str = "who_pays_by_venue") -> Any:
        """One of the report's figures by name (e.g. ``oi_liquidated_vs_move``), as an open Figure."""
        from defi_perps.report.figures import draw

        for s in self.result.sections:
            for f in s.figures:
                if f.name == name:
                    return draw(f.kind, f.data, None, f.run_ids)
        names = [f.name for s in self.result.sections for f in s.figures]
        raise InputError(f"no figure {name!r} in this report; figures: {', '.join(names)}")


def audit(protocol: str = "gmx-v2", *, chain: str | None = None, chain_file: str | None = None,
          snapshot: int | None = None, block: int | None = None, rpc: str | None = None, db: str | None = None,
          out: str | Path | None = None, scenarios: list[str] | None = None, venues: list[str] | None = None,
          paths: int = 200, seed: int = 0, threads: int | None = None) -> AuditReport:
    """``defi-perps audit``: index (or reuse, or take ``snapshot``), run every section, write the report."""
    from defi_perps.runs.audit import AuditRequest, run_audit

    req = AuditRequest(protocol=protocol, chain=chain, chain_file=chain_file, rpc_url=rpc, block=block,
                       snapshot_id=snapshot, db_url=db, out_dir=Path(out) if out is not None else None,
                       scenarios=scenarios, venues=venues, n_paths=paths, seed=seed, threads=threads)
    return AuditReport(run_audit(req))


__all__ = ["AttackResult", "AuditReport", "Comparison", "HedgerResult", "SimulationRun", "Snapshot", "attack", "audit",
           "book_from_snapshot", "compare", "hedger", "load_snapshot", "simulate", "synthetic_book"]


# -- history --------------------------------------------------------------------------------------

def series(market: str, metrics: str | list[str] | None = None, *, from_: str | int | None = None,
           to: str | int | None = None, db: str | None = None, chain_id: int | None = None,
           protocol: str | None = None) -> pd.DataFrame:
    """One market's metrics over stored snapshots of any protocol (``defi-perps series``) as a DataFrame:
    one row per block (snapshot_id, block_number, block_timestamp, block_hash, time in UTC, then one
    float64 column per metric, NaN where the snapshot has no value). Units: ``Series.units()`` in
    ``defi_perps.indexer.series``."""
    from defi_perps.indexer.series import series as compute

    return compute(db, market, metrics, from_, to, chain_id, protocol).to_pandas()


# -- the delta-neutral hedger ------------------------------------------------------------------------

@dataclass
class HedgerResult:
    """``defi-perps hedger``: a market maker's spot long + perp short per venue, P&L by cause."""

    run: Any         # defi_perps.runs.hedger.HedgerRun

    def to_dict(self) -> dict[str, Any]:
        """The ``defi-perps hedger --json`` payload."""
        return self.run.to_dict()

    def to_pandas(self) -> pd.DataFrame:
        """One row per (venue, path): each cause's P&L, the total, ADL'd notional, peak unhedged, unhedged seconds."""
        return self.run.to_pandas()

    def summary(self) -> pd.DataFrame:
        """One row per venue: mean P&L by cause and total."""
        return self.run.summary()

    def to_arrow(self) -> Any:
        return _arrow(self.to_pandas())

    def plot(self) -> Any:
        """The hedger's mean P&L by cause, per venue (the audit's figure)."""
        from defi_perps.report.figures import draw
        from defi_perps.runs.hedger import figure_causes

        return draw("hedger_pnl", {"venues": [{"name": v["display"], "causes": figure_causes(v)}
                                              for v in self.to_dict()["venues"]]}, None)


def hedger(book: Any, *, venues: str | list[str] = "hyperliquid", scenario: str | None = None,
           shock: str | None = None, market: str | None = None, hedge: float | None = None, leverage: float = 5.0,
           latency: str = "60s", rehedge: str = "perp", fee: float = 0.00045, funding_apr: float | None = None,
           paths: int = 200, seed: int = 0, horizon: str | None = None, step: str | None = None,
           depth_stress: float | None = None, volatility: float | None = None,
           threads: int | None = None) -> HedgerResult:
    """The delta-neutral hedger on each venue: ``defi-perps hedger`` with the same options (same numbers)."""
    from defi_perps.runs.hedger import HedgerInputs, run_hedger

    names = [venues] if isinstance(venues, str) else list(venues)
    inp = HedgerInputs(market=market, hedge_usd=hedge, leverage=leverage, latency=latency, route=rehedge, fee=fee,
                       funding_apr=funding_apr)
    inp.check()
    setup = ai.scenario_setup(book, scenario=scenario, shock=shock, horizon=horizon, step=step,
                              depth_stress=depth_stress, volatility=volatility)
    return HedgerResult(run_hedger(book, setup, names, inp, n_paths=paths, seed=seed, threads=threads))
