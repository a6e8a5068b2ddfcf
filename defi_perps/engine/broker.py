"""numba helper: the B-book broker's hedge trade for one market-step (scalars in, a scalar out).

The broker internalises ``alpha`` of every client position, so its own book holds
``own = −alpha·(client longs − client shorts)`` index tokens. It hedges the part of that exposure
above its limit ``lim`` (tokens; ``hedge_threshold`` × the market's open interest in USD ÷ the
price) with an external position ``hedge``, traded through the depth by the step loop.

The hedge follows the client exposure: its target is ``−(own − lim)`` when ``own > lim``,
``−(own + lim)`` when ``own < −lim``, else 0, so the broker's net ``own + hedge`` keeps the sign of
its client book and at most ``lim`` of it. It trades to the target when the net exposure leaves the
band (``|own + hedge| > lim``: under-hedged) or when the hedge covers more than the client book
(the net points the hedge's way: ``hedge·(own + hedge) > 0``). The second condition is what makes a
stop-out cascade unwind the hedge: once the clients it covered are liquidated, keeping a hedge that
is only inside a ±lim band on the *net* would leave the broker holding up to ``lim`` of naked hedge,
the opposite way to its clients, into the rest of the move (issue 7: on oct-10-2025 with a
long-heavy book that turned the broker's gain on its clients' losses into a loss). Inside the band
and on the client book's side nothing trades, so a limit that moves with the price does not make
a trade every step.
"""

from __future__ import annotations

from defi_perps.engine._jit import njit


@njit(inline="always")
def hedge_trade(own: float, hedge: float, lim: float) -> float:
    """Tokens the broker buys (> 0) or sells (< 0) now; 0 when it keeps its hedge."""
    net = own + hedge
    if not (abs(net) > lim or hedge * net > 0.0):
        return 0.0
    if own > lim:
        target = -(own - lim)
    elif own < -lim:
        target = -(own + lim)
    else:
        target = 0.0
    return target - hedge
