"""The ``--withdrawal on|off`` option that ``simulate`` and ``compare`` share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

WITHDRAWAL_HELP = ("Market makers' depth withdraws inside the path with realised volatility, their drawdown and "
                   "ADL against them, and recovers (defi_perps/engine/withdrawal.toml, on top of the scenario's "
                   "depth schedule). 'on' also runs the same seed without it and reports withdrawal's share of "
                   "the price move and of liquidated notional. Default off: the built-in scenarios' depth "
                   "schedules are the record's observed depth, which already holds the makers' retreat.")


def withdrawal_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--withdrawal", "withdrawal", type=click.Choice(("on", "off")), default="off",
                        show_default=True, help=WITHDRAWAL_HELP)(f)


def resolve_withdrawal(choice: str) -> Any:
    """The parameters for ``on``, None for ``off``."""
    if choice != "on":
        return None
    from defi_perps.engine.liquidity import load_withdrawal

    return load_withdrawal()
