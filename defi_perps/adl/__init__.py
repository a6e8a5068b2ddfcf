"""ADL policy lab: run one auto-deleveraging event under several policies and compare them.

An *event* is a shortfall D (USD the venue must recover: bad debt left after the insurance fund or
pool) and the candidate counterparties on the other side, each with size, entry, mark, equity and
PnL. Each policy returns per-account haircuts x_i (USD taken), the total taken, the minimum needed
(D, capped by what PnL-only haircuts can reach), the overshoot (taken − needed, > 0 only for
contract-space closes), the uncovered part, and who is hit (count, HHI, top-k share, largest
haircut fraction). Definitions follow Chitra et al., "Autodeleveraging: Impossibilities and
Optimization", arXiv:2512.01112 (venues.md §3): endowment ``w_i = max(PnL_i, 0)``: ADL may take
profit only, never principal.

Policies (:mod:`.policies`)
    ``queue``            wealth-space queue: rank by the venue's score (``--venue``), take each
                         winner's whole PnL in order, the last one partially.
    ``queue-contract``   production queue in contract space: close contracts in rank order at the
                         event's fill price until ``bankrupt_size`` is matched (BitMEX/Binance);
                         without a fill price, whole positions are closed and their PnL taken.
    ``pro-rata-pnl``     every winner loses the same fraction D/U of its PnL (U = Σ w_i).
    ``pro-rata-equity``  haircuts proportional to account equity, capped at each winner's PnL.
    ``risk-aware``       risk-aware pro-rata RAP with power risk weights: fraction
                         ``h_i = min(1, τ·λ_i^c)`` (λ = leverage, c = 2; c = 1 is levered pro-rata).

Event CSV format (``defi-perps adl replay EVENT.csv``), one row per candidate account, header
required, ``#`` lines ignored::

    event,shortfall,account,side,size,entry,mark,equity[,pnl][,bankrupt_size][,fill_price][,score]

- ``event``: event id (rows with the same id form one event; ``shortfall`` must agree across them);
- ``shortfall``: USD to recover (> 0); ``side``: ``long``/``short`` (or ``1``/``-1``) of the candidate;
- ``size``: position size in base units (> 0); ``entry``, ``mark``: USD prices (> 0);
- ``equity``: account value in USD (collateral + PnL);
- ``pnl`` (optional): unrealized PnL in USD; blank → ``side·size·(mark − entry)``;
- ``bankrupt_size``, ``fill_price`` (optional, per event): size of the bankrupt position to match
  and the price the ADL'd side closes at (bankruptcy price, mark, previous mark) for ``queue-contract``;
- ``score`` (optional): a ranking score published by the venue; ``--ranking score`` queues by it.

A bad file raises :class:`~defi_perps.exceptions.InputError` naming the row and column. An example
ships in ``defi_perps/adl/examples/crash_short_winners.csv``; ``defi-perps compare --adl-events FILE``
writes the ADL events of a simulated path in this format, so simulated events replay the same way.
"""

from defi_perps.adl.events import AdlEvent, Candidates, load_events_csv
from defi_perps.adl.policies import POLICIES, PolicyResult, run_policy

__all__ = ["AdlEvent", "Candidates", "POLICIES", "PolicyResult", "load_events_csv", "run_policy"]
