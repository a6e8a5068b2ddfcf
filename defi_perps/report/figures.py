"""Report figures (matplotlib, Agg): one function per figure kind, data in, PNG out.

Every function takes plain data (lists, arrays, column dicts) that :mod:`defi_perps.runs.audit`
computed, draws it in the one style of :mod:`defi_perps.report.style` (labelled axes with units,
the same number format as the tables) and writes ``path``. The run ids a figure comes from are
printed in its bottom-right corner, so a PNG that travels on its own still says where it came from
(``defi-perps runs show ID``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.report import style


def _plt():  # type: ignore[no-untyped-def]
    style.apply_matplotlib_style()
    import matplotlib.pyplot as plt

    return plt


_label = style.plain


def _finish(fig: Any, path: Path | None, run_ids: list[int]) -> Any:
    """Save to ``path`` and close (the report), or return the open Figure when ``path`` is None (the API)."""
    if run_ids:
        ids = sorted(set(run_ids))
        text = f"run {ids[0]}" if len(ids) == 1 else (
            f"runs {ids[0]}–{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1)) else
            "runs " + ", ".join(map(str, ids)))
        fig.text(0.995, 0.005, f"defi-perps {text}", ha="right", va="bottom", fontsize=7, color="#777777")
    if path is None:
        return fig
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def pnl_to_pool(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    curves = data["curves"]
    n = max(1, len(curves))
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.5, 3.1 * cols), 2.6 * rows + 0.6), squeeze=False, sharex=True)
    for i, c in enumerate(curves):
        ax = axes[i // cols][i % cols]
        x = np.asarray(c["moves_pct"]) / 100
        for side, color in (("long", style.PALETTE[0]), ("short", style.PALETTE[3])):
            ax.plot(x, c[side], color=color, label=f"{side}s")
            thr = c["threshold"][side]
            if thr > 0:
                ax.axhline(thr, color=color, ls="--", lw=1)
        ax.set_title(c["market"], fontsize=8.5)
        style.pct_axis(ax, "x")
        style.pct_axis(ax, "y")
        top = max(max(c["threshold"].values()) * 1.6, 0.05)
        low = float(np.min(np.asarray(c["long"] + c["short"], dtype=float)))
        ax.set_ylim(min(-0.05, max(-0.5, low)), max(top, min(1.0, float(np.max(c["long"] + c["short"])) * 1.05)))
        if i % cols == 0:
            ax.set_ylabel("pnl / pool (%)")
        if i // cols == rows - 1:
            ax.set_xlabel("index price move (%)")
    for j in range(len(curves), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    if not curves:
        _empty(axes[0][0], "no market with prices in this snapshot")
    axes[0][0].legend(loc="upper center")
    fig.suptitle("Traders' pnl-to-pool vs ADL threshold (dashed)", fontweight="bold")
    return _finish(fig, path, run_ids)


def oi_liquidated_vs_move(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    g = data["grid"]
    depths = data["depths"]
    venue = np.asarray(g["venue"])
    shock = np.asarray(g["shock"])
    depth = np.asarray(g["depth_stress"])
    market = np.asarray(g["market"])
    share = np.asarray(g["liquidated_share_of_oi"], dtype=float)
    names = list(dict.fromkeys(market.tolist()))
    thin, normal = min(depths), max(depths)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    panels = ((axes[0], data["protocol_venue"], ((1.0, "-"),)), (axes[1], data["book_venue"], ((normal, "-"), (thin, "--"))))
    for ax, v, styles in panels:
        for k, name in enumerate(names):
            color = style.PALETTE[k % len(style.PALETTE)]
            for d, ls in styles:
                sel = (venue == v) & (market == name) & (depth == d)
                order = np.argsort(-shock[sel])
                ax.plot(-shock[sel][order], share[sel][order], ls=ls, marker="o", ms=3, color=color,
                        label=name if ls == "-" else None)
        ax.set_xlabel("fall of every market over 10 minutes (%)")
        style.pct_axis(ax, "x")
        style.pct_axis(ax, "y")
    own = " (oracle fills)" if data["protocol_venue"] != data["book_venue"] else " at normal depth"
    axes[0].set_title(f"{data['protocol_venue']} rules{own}", fontsize=9.5)
    axes[1].set_title(f"{data['book_venue']} rules: depth ×{normal:g} (solid), ×{thin:g} (dashed)", fontsize=9.5)
    axes[0].set_ylabel("open interest liquidated (% of the market's OI)")
    axes[0].legend(ncol=1, loc="upper left", fontsize=7.5)
    fig.suptitle("Open interest liquidated vs price move", fontweight="bold")
    return _finish(fig, path, run_ids)


def fan_chart(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    mk = data["markets"]
    t = np.asarray(data["t_minutes"])
    n = max(1, len(mk))
    fig, axes = plt.subplots(2, n, figsize=(max(6.5, 3.2 * n), 4.6), squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [3, 1.2]})
    for i, m in enumerate(mk):
        ax, axl = axes[0][i], axes[1][i]
        rel = np.asarray(m["relative_mark"])
        if rel.size == 0:
            _empty(ax, "no detailed paths")
        else:
            qs = np.quantile(rel, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            ax.fill_between(t, qs[0] - 1, qs[4] - 1, color=style.PALETTE[0], alpha=0.15, lw=0, label="5–95%")
            ax.fill_between(t, qs[1] - 1, qs[3] - 1, color=style.PALETTE[0], alpha=0.3, lw=0, label="25–75%")
            ax.plot(t, qs[2] - 1, color=style.PALETTE[0], lw=1.4, label="median")
        ax.set_title(m["name"], fontsize=8.5)
        style.pct_axis(ax, "y")
        liq = np.asarray(m["liquidated_per_step_usd"])
        if liq.size:
            axl.bar(t[1:1 + liq.size], liq, width=(t[1] - t[0]) if t.size > 1 else 1.0, color=style.PALETTE[3])
        style.usd_axis(axl, "y")
        axl.set_xlabel("minutes")
        if i == 0:
            ax.set_ylabel("mark vs start (%)")
            axl.set_ylabel("liquidated / step")
            ax.legend(loc="lower right")
    fig.suptitle(data.get("title", "Price paths and liquidation volume"), fontweight="bold")
    return _finish(fig, path, run_ids)


def cascade_amplification(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    g = data["grid"]
    shock = np.asarray(g["shock"])
    depth = np.asarray(g["depth_stress"])
    market = np.asarray(g["market"])
    amp = np.asarray([np.nan if v is None else v for v in g["amplification_p50"]], dtype=float)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    for k, s in enumerate(sorted(set(shock.tolist()), reverse=True)):
        color = style.PALETTE[k % len(style.PALETTE)]
        ds = sorted(set(depth.tolist()))
        sel = [(market == data["market"]) & (shock == s) & (depth == d) for d in ds]
        a1.plot(ds, [np.nanmedian(amp[x]) if np.any(x) else np.nan for x in sel], marker="o", color=color,
                label=f"shock {style.pct(s, 0)}")
        sel_all = [(shock == s) & (depth == d) for d in ds]
        a2.plot(ds, [np.nanmedian(amp[x]) if np.any(x & ~np.isnan(amp)) else np.nan for x in sel_all], marker="o",
                color=color)
    for ax, title in ((a1, data["market"]), (a2, "median of markets")):
        ax.set_xscale("log")
        ax.axhline(1.0, color="#555555", lw=0.8, ls=":")
        ax.set_xlabel("depth stress (× normal depth, log scale)")
        ax.set_title(title, fontsize=9)
    a1.set_ylabel("cascade amplification (× the shock's drop)")
    a1.legend()
    fig.suptitle("Cascade amplification vs depth", fontweight="bold")
    return _finish(fig, path, run_ids)


def fund_over_time(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    fig, ax = plt.subplots()
    series = data["series"]
    for k, s in enumerate(series):
        color = style.PALETTE[k % len(style.PALETTE)]
        t = np.asarray(s["t_minutes"])
        ax.fill_between(t, s["p5"], s["p95"], color=color, alpha=0.15, lw=0)
        ax.plot(t, s["mean"], color=color, label=f"{_label(s['venue'])} (start {style.usd(s['initial_usd'])})")
    if not series:
        _empty(ax, "no venue in this run keeps an insurance fund or vault")
    else:
        ax.legend()
        style.pct_axis(ax, "y")
    ax.set_xlabel("minutes")
    ax.set_ylabel("fund balance (% of its starting size)")
    ax.set_title("Insurance fund / backstop vault over time")
    return _finish(fig, path, run_ids)


def who_pays(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.6))
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for party, label in style.PARTY_LABELS.items():
        vals = np.asarray([r["paid_by"].get(party, 0.0) for r in rows], dtype=float)
        if not np.any(vals > 0):
            continue
        ax.bar(x, vals, bottom=bottom, color=style.PARTY_COLORS[party], label=label, width=0.65)
        bottom += vals
    ax.set_xticks(x, [_label(r["name"]) for r in rows], rotation=20, ha="right")
    style.usd_axis(ax, "y")
    ax.set_ylabel("bad debt absorbed (USD, mean over paths)")
    ax.set_title("Who pays for bad debt, by venue")
    if np.all(bottom == 0):
        _empty(ax, "no bad debt on any venue in this scenario")
    else:
        ax.legend()
    return _finish(fig, path, run_ids)


def adl_haircuts(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    plt = _plt()
    venues = data["venues"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    with_adl = [v for v in venues if np.asarray(v["haircuts"]).size]
    if with_adl:
        a1.boxplot([np.asarray(v["haircuts"]) for v in with_adl], showfliers=True)
        a1.set_xticks(range(1, len(with_adl) + 1), [_label(v["venue"]) for v in with_adl], rotation=20, ha="right")
        a1.set_yscale("log")
        style.usd_axis(a1, "y")
        a1.set_ylabel("haircut per ADL'd position (USD)")
    else:
        _empty(a1, "no position was auto-deleveraged on any venue")
    a1.set_title("Per position")
    names = [_label(v["venue"]) for v in venues]
    notional = [np.asarray(v["per_path_notional"], dtype=float) for v in venues]
    if any(n.size and n.max() > 0 for n in notional):
        a2.boxplot(notional, showfliers=True)
        a2.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
        style.usd_axis(a2, "y")
        a2.set_ylabel("ADL'd notional per path (USD)")
    else:
        _empty(a2, "no ADL in any path")
    a2.set_title("Per path")
    none = [v["venue"] for v in venues if not np.asarray(v["haircuts"]).size]
    if none and with_adl:
        fig.text(0.01, 0.005, "no ADL: " + ", ".join(_label(n) for n in none), fontsize=7, color="#555555")
    fig.suptitle("ADL haircut distribution", fontweight="bold")
    return _finish(fig, path, run_ids)


def manipulation_cost_profit(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    """``data["rows"]``: per market ``{"market", "cost_usd", "profit_usd"}`` (the attack section's producer)."""
    plt = _plt()
    rows = data["rows"]
    fig, ax = plt.subplots()
    if rows:
        cost = np.asarray([r["cost_usd"] for r in rows], dtype=float)
        profit = np.asarray([r["profit_usd"] for r in rows], dtype=float)
        ax.scatter(cost, profit, color=style.PALETTE[3])
        for r, c, p in zip(rows, cost, profit):
            ax.annotate(r["market"], (c, p), fontsize=7, xytext=(3, 3), textcoords="offset points")
        hi = float(max(cost.max(), profit.max(), 1.0))
        ax.plot([0, hi], [0, hi], color="#555555", ls=":", lw=0.8, label="break-even")
        ax.legend()
        if hi > 1e4:   # markets span orders of magnitude: log scale (linear below $1k, where zeros sit)
            ax.set_xscale("symlog", linthresh=1e3)
            ax.set_yscale("symlog", linthresh=1e3)
    else:
        _empty(ax, "no market attacked")
    style.usd_axis(ax, "x")
    style.usd_axis(ax, "y")
    ax.set_xlabel("cost of moving the oracle (USD)")
    ax.set_ylabel("attacker's profit (USD)")
    ax.set_title("Oracle manipulation: cost vs profit per market")
    return _finish(fig, path, run_ids)


def hedger_pnl(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    """The hedger's mean P&L by cause. ``data["venues"]``: ``{"name", "causes": {label: USD}}`` per venue
    (grouped horizontal bars, one colour per venue); or ``data["rows"]``: ``{"cause", "pnl_usd"}``."""
    plt = _plt()
    if "venues" in data:
        venues = data["venues"]
        labels = list(venues[0]["causes"]) if venues else []
    else:
        labels = [r["cause"] for r in data["rows"]]
        venues = [{"name": "hedger", "causes": {r["cause"]: r["pnl_usd"] for r in data["rows"]}}]
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * max(len(labels), 4) + 1.5))
    y = np.arange(len(labels))
    h = 0.8 / max(len(venues), 1)
    for k, v in enumerate(venues):
        vals = np.asarray([v["causes"].get(c, 0.0) for c in labels], dtype=float)
        ax.barh(y - 0.4 + h * (k + 0.5), vals, height=h, color=style.PALETTE[k % len(style.PALETTE)],
                label=style.plain(v["name"]))
    ax.set_yticks(y, [style.plain(c) for c in labels])
    ax.invert_yaxis()
    ax.axvline(0, color="#555555", lw=0.8)
    style.usd_axis(ax, "x")
    ax.set_xlabel("P&L (USD, mean over paths)")
    ax.set_ylabel("cause")
    if len(venues) > 1 or "venues" in data:
        ax.legend(loc="best", fontsize=8)
    ax.set_title("Delta-neutral hedger: P&L by cause")
    return _finish(fig, path, run_ids)


FIGURES: dict[str, Callable[[dict[str, Any], Path | None, list[int]], Any]] = {
    "pnl_to_pool": pnl_to_pool, "oi_liquidated_vs_move": oi_liquidated_vs_move, "fan_chart": fan_chart,
    "cascade_amplification": cascade_amplification, "fund_over_time": fund_over_time, "who_pays": who_pays,
    "adl_haircuts": adl_haircuts, "manipulation_cost_profit": manipulation_cost_profit, "hedger_pnl": hedger_pnl,
}


def draw(kind: str, data: dict[str, Any], path: Path | None, run_ids: list[int] | None = None) -> Any:
    """Draw figure ``kind``: written to ``path`` (returns the path), or returned open when ``path`` is None."""
    try:
        fn = FIGURES[kind]
    except KeyError:
        raise ValueError(f"unknown figure kind {kind!r}; known: {', '.join(FIGURES)}") from None
    return fn(data, path, list(run_ids or []))


__all__ = ["FIGURES", "draw"]
