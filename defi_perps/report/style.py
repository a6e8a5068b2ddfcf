"""One style for every number, table and figure defi-perps shows.

Numbers: USD as ``$1.23M`` / ``$456k`` / ``$789`` (three significant figures past a thousand),
fractions as percentages with one decimal, ratios as ``1.42×``; the same helpers serve the
terminal, the HTML report and figure labels, so a figure reads the same everywhere.

Terminal: :func:`console` is rich's console on a terminal and a wide one (no wrapping at 80
columns, no colour codes) when the output is piped, so tables stay whole in logs and files.

Figures: :func:`apply_matplotlib_style` sets the Agg backend and one look (sizes, grid, fonts,
palette) before any figure is drawn.
"""

from __future__ import annotations

import math
import sys
from typing import Any

PIPE_WIDTH = 200

# one colour per party that can absorb a loss (who-pays figures and tables), colour-blind safe
PARTY_COLORS: dict[str, str] = {
    "insurance_fund": "#0072B2", "pool": "#E69F00", "backstop_vault": "#56B4E9", "broker": "#CC79A7",
    "adl": "#D55E00", "venue": "#999999", "uncovered": "#000000",
    # a clearing house's waterfall layers (venue ccp)
    "defaulter_guarantee_fund": "#009E73", "ccp_capital": "#F0E442", "mutualised_guarantee_fund": "#7F6000",
    "assessments": "#4B0092", "vm_gains_haircut": "#882255",
}
PARTY_LABELS: dict[str, str] = {
    "insurance_fund": "insurance fund", "pool": "pool (LPs)", "backstop_vault": "backstop vault (HLP)",
    "broker": "broker", "adl": "profitable traders (ADL)", "venue": "venue", "uncovered": "uncovered shortfall",
    "defaulter_guarantee_fund": "defaulter's guarantee fund", "ccp_capital": "clearing house capital",
    "mutualised_guarantee_fund": "mutualised guarantee fund", "assessments": "members' assessments",
    "vm_gains_haircut": "winners' VM-gains haircut",
}
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def usd(x: float | None) -> str:
    """``$1.23B``, ``$4.56M``, ``$789k``, ``$12``; ``–`` for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    a = abs(x)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            v = x / div
            return f"${v:,.2f}{suffix}" if abs(v) < 100 else f"${v:,.0f}{suffix}"
    return f"${x:,.0f}"


def price(x: float | None) -> str:
    """A USD price: cents above $1, four significant digits below (PEPE trades near $0.00001)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 1 or x == 0:
        return f"${x:,.2f}"
    places = 3 - math.floor(math.log10(abs(x)))
    return f"${x:.{places}f}"


def plain(text: str) -> str:
    """Names with glyphs common fonts lack (Binance's "USDⓈ-M") in plain letters, for figures and pages."""
    return str(text).replace("Ⓢ", "S")


def pct(x: float | None, places: int = 1) -> str:
    """A fraction as a percentage (0.123 → ``12.3%``); no ``-0.0%``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{100 * x:.{places}f}%"
    return s[1:] if s.startswith("-") and float(s[:-1]) == 0 else s


def ratio(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.2f}×"


def count(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.1f}"


def console(stderr: bool = False) -> Any:
    """rich Console: the terminal's own width on a terminal, a wide plain one when piped."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH, no_color=True, highlight=False, soft_wrap=False)


def apply_matplotlib_style() -> None:
    """Agg (no display needed) and one consistent look for every figure."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.figsize": (8.0, 4.6), "figure.dpi": 110, "savefig.dpi": 110, "savefig.bbox": "tight",
        "font.size": 9.5, "axes.titlesize": 11, "axes.titleweight": "bold", "axes.labelsize": 9.5,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),  # type: ignore[attr-defined]
        "legend.fontsize": 8.5,
        "legend.frameon": False, "font.family": "DejaVu Sans",
    })


def usd_axis(ax: Any, axis: str = "y") -> None:
    """Tick labels in the same USD style as the tables."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: usd(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def pct_axis(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: pct(v, 0))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


__all__ = [
    "PALETTE",
    "PARTY_COLORS",
    "PARTY_LABELS",
    "apply_matplotlib_style",
    "console",
    "count",
    "pct",
    "pct_axis",
    "plain",
    "price",
    "ratio",
    "usd",
    "usd_axis",
]
