"""One attack's figure (``api.attack(...).plot()``): who lost what, the attacker's cost / profit / net,
and, for an incident replay, the oracle path the attack produced. Rendering only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from defi_perps.report import style
from defi_perps.report.figures import _empty, _finish, _plt

_EXTRA_PARTIES = {"liquidated_traders": ("liquidated traders", "#009E73")}


def attack_figure(data: dict[str, Any], path: Path | None, run_ids: list[int]) -> Any:
    """``data``: the attack's summary (``attacker_*_usd``, ``paid_by``) plus ``price_path`` (oracle /
    start per step, may be empty) and ``title``."""
    plt = _plt()
    series = list(data.get("price_path") or [])
    ncols = 3 if series else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.4 * ncols + 1.5, 4.6), layout="constrained")
    ax = axes[0]
    names = ["cost", "gross profit", "net"]
    vals = [data["attacker_cost_usd"], data["attacker_profit_usd"], data["attacker_net_usd"]]
    colors = ["#D55E00", "#009E73", "#0072B2" if vals[2] >= 0 else "#000000"]
    ax.bar(names, vals, color=colors, width=0.6)
    ax.axhline(0.0, color="#555555", linewidth=0.8)
    style.usd_axis(ax, "y")
    ax.set_ylabel("USD")
    ax.set_title("Attacker")
    ax = axes[1]
    paid = {k: float(v) for k, v in (data.get("paid_by") or {}).items() if float(v) > 0}
    if paid:
        labels, colors2 = [], []
        for k in paid:
            label, color = _EXTRA_PARTIES.get(k, (style.PARTY_LABELS.get(k, k), style.PARTY_COLORS.get(k, "#999999")))
            labels.append(label)
            colors2.append(color)
        y = np.arange(len(paid))
        ax.barh(y, list(paid.values()), color=colors2)
        ax.set_yticks(y, labels)
        style.usd_axis(ax, "x")
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel("lost to the attack (USD)")
    else:
        _empty(ax, "nobody lost anything")
    ax.set_title("Who paid")
    if series:
        ax = axes[2]
        ax.plot(np.arange(len(series)), (np.asarray(series, float) - 1.0), color=style.PALETTE[0])
        style.pct_axis(ax, "y")
        ax.set_xlabel("step")
        ax.set_ylabel("oracle vs its start")
        ax.set_title(f"Oracle move {style.pct(data.get('oracle_move', 0.0), 0)}")
    title = style.plain(str(data.get("title", "attack")))
    title = title if len(title) <= 110 else title[:107] + "…"
    fig.suptitle(title.replace("$", r"\$"))       # a dollar sign is text here, not mathtext
    return _finish(fig, path, run_ids)


__all__ = ["attack_figure"]
