"""GMX v1 on the devnet: deploy our GMX v1-compatible Vault and GlpManager (contracts/src/gmx_v1/*.sol),
configure tokens and prices, and seed a book whose positions arrive with the Vault's own events.

Everything is sent from the plug-in's anvil account (``ProtocolPlugin.devnet_account`` = 1), so the
addresses are the same on every devnet whatever GMX v2 deployed first: tokens at that account's
nonces 0–3, the Vault at 4, the GlpManager at 5 (``chains/devnet.toml``).

The book is seeded, from one seed, like a live one: sizes log-normal around $15k, leverage log-normal around 8x (capped where the entry
would already be liquidatable),
entries spread around the price, a third short; then some positions are closed (DecreasePosition +
ClosePosition) or liquidated (LiquidatePosition) and a few reopened, so the event scan has to tell
open from closed. Three hand-set positions sit on the rule's edges: one past its liquidation price,
one over max leverage (state 2), one with a small profit inside ``minProfitTime``. Vault parameters
are devnet choices in the range of the deployed ones (venues/params/gmx_v1.toml cites those).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from eth_utils import keccak, to_checksum_address

from defi_perps.exceptions import DevnetError
from defi_perps.protocols.base import DevnetContext, DevnetPart
from defi_perps.protocols.gmx_v1.math import position_key

P30 = 10**30
SEED_BATCH = 250


@dataclass(frozen=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    price: int            # whole USD (devnet)
    stable: bool
    min_profit_bps: int
    cumulative_funding: int


TOKENS = (
    TokenSpec("WETH", "Wrapped Ether", 18, 3000, False, 150, 45_000),
    TokenSpec("WBTC", "Wrapped BTC", 8, 60_000, False, 150, 38_000),
    TokenSpec("LINK", "ChainLink Token", 18, 15, False, 150, 52_000),
    TokenSpec("USDC", "USD Coin", 6, 1, True, 0, 61_000),
)
PARAMS = {"max_leverage": 50 * 10_000, "liquidation_fee_usd": 5 * P30, "margin_fee_basis_points": 10,
          "min_profit_time": 3 * 3600, "funding_interval": 3600, "funding_rate_factor": 100,
          "stable_funding_rate_factor": 100, "in_private_liquidation_mode": True}
SPREAD_BPS = 5        # min/max price half-spread of the non-stable tokens


def send_from(w3: Any, deployer: str, tx: dict[str, Any]) -> Any:
    """Send from ``deployer`` (unlocked on anvil), wait, fail loudly on revert."""
    tx = {"from": deployer, "gas": 1_000_000_000, **tx}
    h = w3.eth.send_transaction(tx)
    rc = w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
    if rc["status"] != 1:
        raise DevnetError(f"GMX v1 devnet transaction reverted (to={tx.get('to')}, block {rc['blockNumber']})")
    return rc


def deploy_from(w3: Any, deployer: str, name: str, *args: Any) -> str:
    from defi_perps.devnet.artifacts import artifact

    art = artifact(name)
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    return str(send_from(w3, deployer, {"data": c.constructor(*args).data_in_transaction})["contractAddress"])


def trader(seed: int, i: int) -> str:
    return to_checksum_address(keccak(text=f"defi-perps devnet gmx-v1 trader {seed} {i}")[12:])


def prices_of(spec: TokenSpec) -> tuple[int, int]:
    p = spec.price * P30
    if spec.stable:
        return p, p
    return p * (10_000 - SPREAD_BPS) // 10_000, p * (10_000 + SPREAD_BPS) // 10_000


def generate(seed: int, n: int, now: int, tokens: dict[str, str]) -> list[dict[str, Any]]:
    """``n`` positions (exact ints), unique per (account, collateral, index, side)."""
    rng = np.random.default_rng(seed)
    specs = {t.symbol: t for t in TOKENS}
    index_syms = ["WETH", "WBTC", "LINK"]
    n_accounts = max(4, n // 2)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    while len(out) < n:
        sym = index_syms[int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
        is_long = bool(rng.random() < 0.65)
        acct = trader(seed, int(rng.integers(n_accounts)))
        idx = tokens[sym]
        coll_sym = sym if is_long else "USDC"
        coll = tokens[coll_sym]
        key = position_key(acct, coll, idx, is_long)
        if key in seen:
            continue
        seen.add(key)
        spec = specs[sym]
        size = int(min(5e6, max(50.0, float(np.exp(rng.normal(np.log(15_000), 1.2)))))) * P30
        avg = int(spec.price * float(np.exp(rng.normal(0.0, 0.04))) * 1e6) * 10**24
        # a live book holds few liquidatable positions (keepers close them): leverage is drawn from
        # what keeps this entry healthy at today's price, with room to spare
        loss = max(0.0, (avg - spec.price * P30) / avg if is_long else (spec.price * P30 - avg) / avg)
        max_lev = min(48.0, 1.0 / (loss + 0.004 + 5 * P30 / size + 1 / 50)) if loss < 0.9 else 1.1
        lev = float(min(max(1.2, max_lev), max(1.1, np.exp(rng.normal(np.log(8.0), 0.6)))))
        collateral = int(size / lev) // 10**12 * 10**12
        if is_long:
            reserve = size * 10**spec.decimals // (spec.price * P30)
        else:
            reserve = size * 10**6 // P30
        cum = specs[coll_sym].cumulative_funding
        out.append({"account": acct, "collateral_token": coll, "index_token": idx, "is_long": is_long,
                    "size": size, "collateral": collateral, "average_price": avg,
                    "entry_funding_rate": cum - int(rng.integers(0, 3000)), "reserve_amount": reserve,
                    "realised_pnl": 0, "last_increased_time": now - int(rng.integers(3600, 30 * 86400))})
    return out


def edge_positions(seed: int, now: int, tokens: dict[str, str]) -> list[dict[str, Any]]:
    """Three positions on the rule's edges (WETH at $3000 ± 5 bp)."""
    weth, usdc = tokens["WETH"], tokens["USDC"]
    base = {"entry_funding_rate": 45_000, "realised_pnl": 0, "reserve_amount": 10**18}
    return [
        # long from $3600 with 10x: a 16.7% loss > 10% collateral — past its liquidation price
        {**base, "account": trader(seed, 10**6), "collateral_token": weth, "index_token": weth, "is_long": True,
         "size": 36_000 * P30, "collateral": 3_600 * P30, "average_price": 3600 * P30,
         "last_increased_time": now - 86400},
        # short from $2940 at 40x: loss 2.06% ($824) leaves $176 of $1000 → 227x > 50x: state 2
        {**base, "account": trader(seed, 10**6 + 1), "collateral_token": usdc, "index_token": weth, "is_long": False,
         "size": 40_000 * P30, "collateral": 1_000 * P30, "average_price": 2940 * P30,
         "entry_funding_rate": 61_000, "reserve_amount": 40_000 * 10**6, "last_increased_time": now - 86400},
        # long from $2995, opened 10 minutes ago: a 0.12% profit inside minProfitTime counts as 0
        {**base, "account": trader(seed, 10**6 + 2), "collateral_token": weth, "index_token": weth, "is_long": True,
         "size": 20_000 * P30, "collateral": 2_000 * P30, "average_price": 2995 * P30,
         "last_increased_time": now - 600},
    ]


def _seed_tuple(p: dict[str, Any]) -> tuple[Any, ...]:
    return (p["account"], p["collateral_token"], p["index_token"], p["is_long"],
            (p["size"], p["collateral"], p["average_price"], p["entry_funding_rate"], p["reserve_amount"],
             p["realised_pnl"], p["last_increased_time"]))


def deploy_and_seed(ctx: DevnetContext) -> DevnetPart:
    from defi_perps.devnet.artifacts import artifact

    w3, me = ctx.w3, ctx.deployer
    first_block = int(w3.eth.block_number) + 1
    tokens = {t.symbol: deploy_from(w3, me, "Token", t.name, t.symbol, t.decimals) for t in TOKENS}
    vault = deploy_from(w3, me, "GmxV1Vault")
    glp = deploy_from(w3, me, "GmxV1GlpManager", vault)
    v = w3.eth.contract(address=vault, abi=artifact("GmxV1Vault")["abi"])

    def call(fn: str, *args: Any) -> Any:
        return send_from(w3, me, {"to": vault, "data": v.encode_abi(fn, args=list(args))})

    call("setParams", *PARAMS.values())
    for t in TOKENS:
        call("setTokenConfig", tokens[t.symbol], t.decimals, t.min_profit_bps, t.stable, not t.stable)
    mins, maxs = zip(*(prices_of(t) for t in TOKENS))
    call("setPrices", [tokens[t.symbol] for t in TOKENS], list(mins), list(maxs))
    now = int(w3.eth.get_block("latest")["timestamp"])
    n = max(12, min(20_000, ctx.positions // 10))
    book = generate(ctx.seed, n, now, tokens)
    done = 0
    for i in range(0, len(book), SEED_BATCH):
        chunk = book[i:i + SEED_BATCH]
        call("seedPositions", [_seed_tuple(p) for p in chunk])
        done += len(chunk)
    # close some, liquidate some (their events say so), then reopen a few of the closed ones
    rng = np.random.default_rng(ctx.seed + 1)
    fate = rng.random(len(book))
    closed = [p for p, f in zip(book, fate) if f < 0.08]
    liquidated = [p for p, f in zip(book, fate) if 0.08 <= f < 0.12]
    for p in closed + liquidated:
        call("removePosition", p["account"], p["collateral_token"], p["index_token"], p["is_long"],
             p in liquidated, p["average_price"])
    reopened = closed[: max(1, len(closed) // 4)] if closed else []
    reopened = [{**p, "size": p["size"] // 2 or P30, "collateral": p["collateral"] // 2 or P30 // 10,
                 "last_increased_time": now - 7200} for p in reopened]
    edges = edge_positions(ctx.seed, now, tokens)
    call("seedPositions", [_seed_tuple(p) for p in reopened + edges])
    gone = {position_key(p["account"], p["collateral_token"], p["index_token"], p["is_long"]) for p in closed + liquidated}
    open_ = {position_key(p["account"], p["collateral_token"], p["index_token"], p["is_long"]): p for p in book}
    for k in gone:
        open_.pop(k)
    for p in reopened + edges:
        open_[position_key(p["account"], p["collateral_token"], p["index_token"], p["is_long"])] = p
    # pool state consistent with the open book
    specs = {tokens[t.symbol]: t for t in TOKENS}
    reserved = {a: 0 for a in specs}
    guaranteed = {a: 0 for a in specs}
    short_size = {a: 0 for a in specs}
    short_notional = {a: 0 for a in specs}
    for p in open_.values():
        reserved[p["collateral_token"]] += p["reserve_amount"]
        if p["is_long"]:
            guaranteed[p["collateral_token"]] += p["size"] - p["collateral"]
        else:
            short_size[p["index_token"]] += p["size"]
            short_notional[p["index_token"]] += p["size"] * p["average_price"]
    last_funding = (now - 2 * 3600) // 3600 * 3600
    for a, t in specs.items():
        depth = 10**t.decimals * 2_000_000 // t.price      # about $2M of each token besides the reserves
        avg_short = short_notional[a] // short_size[a] if short_size[a] else 0
        call("setTokenState", a, (reserved[a] * 2 + depth, reserved[a], guaranteed[a], short_size[a], avg_short,
                                  t.cumulative_funding, last_funding))
    if ctx.progress is not None:
        ctx.progress(done)
    block = w3.eth.get_block("latest")
    exact = [{k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in p.items()}
             | {"key": k} for k, p in sorted(open_.items())]
    return DevnetPart(
        section={"vault": vault, "glp_manager": glp, "deploy_block": first_block, "log_span": 500},
        addresses={"vault": vault, "glp_manager": glp, "tokens": tokens, "deployer": me},
        book={"block_number": int(block["number"]), "block_timestamp": int(block["timestamp"]), "positions": exact,
              "closed": sorted(gone - set(open_)), "seed": ctx.seed},
        positions=len(open_))
