"""Deploy and seed a gTrade devnet book: the GTradeDiamond and gToken vaults of
``contracts/src/gtrade/GTradeDiamond.sol`` (the Diamond's real selectors and struct layouts), Chainlink-
style feeds per pair and collateral tokens, and a reproducible book of open trades.

Everything is sent from one anvil default account (the plug-in's ``devnet_account``, 4), so the
addresses depend only on that account's nonces (``chains/devnet.toml`` names them), whatever else
the devnet deploys.

The universe is a small copy of Arbitrum's (collateral indices 1 DAI, 2 WETH, 3 USDC; pairs 0 BTC,
1 ETH, 2 LINK, 3 DOGE in the crypto group, 4 EUR/USD in forex). Parameter values are modelling
choices of the right order (spread, fees, liquidation params, borrowing rates); the book has
heavy-tailed collateral, 2–150x leverage (forex up to 500x), both sides, open prices around the
current price, and about 4 % of trades at 80–95 % of the way to their liquidation price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from web3 import Web3

from defi_perps.devnet.artifacts import artifact
from defi_perps.exceptions import DevnetError
from defi_perps.protocols.gtrade import math as gm

DEPLOYER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"   # anvil default account 4 (plugin.devnet_account)
TRADES_PER_TX = 150
CONTRACTS_VERSION_V10 = 2                                 # ITradingStorage.ContractsVersion.V10
P = gm.P_10


@dataclass(frozen=True)
class CollateralSpec:
    symbol: str
    decimals: int
    price_usd_1e8: int


@dataclass(frozen=True)
class PairSpec:
    base: str
    quote: str
    price_1e10: int            # oracle price at seeding (1e10)
    feed_decimals: int
    spread_p: int              # 1e10 %
    group: int
    fee: int
    max_leverage: int          # 1e3
    weight: float


COLLATERALS = (CollateralSpec("DAI", 18, 100_010_000), CollateralSpec("WETH", 18, 3_000 * 10**8),
               CollateralSpec("USDC", 6, 99_990_000))
PAIRS = (
    PairSpec("BTC", "USD", 97_000 * P, 8, 4 * 10**8, 0, 0, 150_000, 0.35),
    PairSpec("ETH", "USD", 3_000 * P, 8, 4 * 10**8, 0, 0, 150_000, 0.35),
    PairSpec("LINK", "USD", 18 * P, 8, 8 * 10**8, 0, 0, 100_000, 0.1),
    PairSpec("DOGE", "USD", P * 32 // 100, 8, 10 * 10**8, 0, 0, 100_000, 0.1),
    PairSpec("EUR", "USD", P * 108 // 100, 8, 2 * 10**7, 1, 1, 500_000, 0.1),
)
# (name, min leverage, max leverage) and v9.2+ liquidation params per group
GROUPS = (("crypto", 1_100, 150_000, gm.LiquidationParams(5 * 10**8, 90 * P, 80 * P, 10_000, 150_000)),
          ("forex", 1_100, 1_000_000, gm.LiquidationParams(10**8, 90 * P, 75 * P, 25_000, 500_000)))
# (totalPositionSizeFeeP, totalLiqCollateralFeeP, oraclePositionSizeFeeP, minPositionSizeUsd 1e3)
FEES = ((6 * 10**8, 10 * P, 4 * 10**7, 1_500_000), (3 * 10**7, 10 * P, 4 * 10**7, 1_500_000))
BORROW_RATE_PER_SECOND_P = 1000  # 1e10 units: a trade owes ≈ 1e-9 of its size per second (≈ 3.2 %/yr)
SEEDED_HOURS = 24 * 7            # trades were opened up to 7 days before the book


@dataclass
class GTradeDevnet:
    """Addresses and the seeded book (the exact ints written)."""

    diamond: str = ""
    gtokens: dict[str, str] = field(default_factory=dict)       # collateral symbol -> gToken
    tokens: dict[str, str] = field(default_factory=dict)        # collateral symbol -> ERC-20
    feeds: dict[str, str] = field(default_factory=dict)         # pair name -> PriceFeed
    trades: list[dict[str, Any]] = field(default_factory=list)  # Trade fields by name
    deploy_block: int = 0
    seeded_block: int = 0

    def addresses(self) -> dict[str, Any]:
        return {"diamond": self.diamond, "gtokens": dict(self.gtokens), "tokens": dict(self.tokens),
                "feeds": dict(self.feeds)}


def _send(w3: Web3, sender: str, tx: dict[str, Any]) -> Any:
    tx = {"from": sender, "gas": 1_000_000_000, **tx}
    h = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    rc = w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
    if rc["status"] != 1:
        raise DevnetError(f"gTrade devnet transaction reverted (to={tx.get('to')}, block {rc['blockNumber']})")
    return rc


def _deploy(w3: Web3, sender: str, name: str, *args: Any) -> str:
    art = artifact(name)
    data = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]).constructor(*args).data_in_transaction
    return str(_send(w3, sender, {"data": data})["contractAddress"])


def _call(w3: Web3, sender: str, name: str, address: str, fn: str, *args: Any) -> Any:
    c = w3.eth.contract(address=address, abi=artifact(name)["abi"])  # type: ignore[call-overload]
    return _send(w3, sender, {"to": address, "data": c.encode_abi(fn, args=list(args))})


def pair_name(p: PairSpec) -> str:
    return f"{p.base}/{p.quote}"


def generate_trades(n: int, n_accounts: int, seed: int, now: int, accounts: list[str]) -> list[dict[str, Any]]:
    """The seeded book: ``n`` open trades (Trade, TradeInfo, liquidation params, fee data fields)."""
    rng = np.random.default_rng(seed)
    weights = np.array([p.weight for p in PAIRS])
    pair_of = rng.choice(len(PAIRS), size=n, p=weights / weights.sum())
    account_of = rng.integers(0, n_accounts, size=n)
    out: list[dict[str, Any]] = []
    next_index: dict[int, int] = {}
    for k in range(n):
        pi = int(pair_of[k])
        ps = PAIRS[pi]
        group = GROUPS[ps.group]
        ci = int(rng.choice(3, p=[0.2, 0.15, 0.65])) + 1         # collateral index 1..3
        cs = COLLATERALS[ci - 1]
        lev_x = float(min(max(np.exp(rng.normal(np.log(12.0), 0.9)), 2.0), ps.max_leverage / 1000))
        leverage = int(round(lev_x * 1000))
        coll_usd = float(np.clip(np.exp(rng.normal(np.log(400.0), 1.3)), 20.0, 500_000.0))
        amount = int(coll_usd * 10**8 / cs.price_usd_1e8 * 10**cs.decimals)
        long = bool(rng.random() < 0.55)
        near = rng.random() < 0.04
        thr = gm.liq_pnl_threshold_p(group[3], leverage)
        if near:
            # opened so that today's price sits just inside the liquidation distance (≈ thr / leverage)
            move = (thr / P / 100) / lev_x * float(rng.uniform(0.80, 0.95))
        else:
            # losses up to 60 % of collateral, gains up to +50 % in price
            move = float(np.clip(rng.normal(0.0, 0.04), -0.5, 0.6 * (thr / P / 100) / lev_x))
        # long: open above today's price by `move` loses `move`; a short the other way
        open_price = int(ps.price_1e10 * (1 + move) if long else ps.price_1e10 * (1 - move))
        idx = next_index.get(int(account_of[k]), 0)
        next_index[int(account_of[k])] = idx + 1
        age = int(rng.integers(60, SEEDED_HOURS * 3600))
        size = gm.position_size_collateral(amount, leverage)
        pd = 10 ** (18 - cs.decimals)
        size_tokens = size * pd * cs.price_usd_1e8 // 10**8 * P // open_price
        out.append({
            "user": accounts[int(account_of[k])], "index": idx, "pairIndex": pi, "leverage": leverage, "long": long,
            "isOpen": True, "collateralIndex": ci, "tradeType": 0, "collateralAmount": amount,
            "openPrice": open_price, "tp": 0, "sl": 0, "isCounterTrade": False, "positionSizeToken": size_tokens,
            "createdBlock": 1, "collateralPriceUsd": cs.price_usd_1e8, "lastOiUpdateTs": now - age,
            "liq": group[3], "initialAccBorrowingFeeP": 0, "age": age,
        })
    return out


def _accounts(n: int, seed: int) -> list[str]:
    return [Web3.to_checksum_address(Web3.keccak(text=f"defi-perps gtrade devnet trader {seed} {i}")[12:])
            for i in range(n)]


def deploy_and_seed(w3: Web3, n_trades: int = 600, n_accounts: int | None = None, seed: int = 0,
                    progress: Callable[[int], None] | None = None, deployer: str = DEPLOYER) -> GTradeDevnet:
    """Deploy the gTrade devnet contracts from ``deployer`` and write ``n_trades`` open trades;
    returns the addresses and the book exactly as written (the test oracle for the reader)."""
    if n_trades < 0:
        raise DevnetError("the gTrade devnet needs n_trades >= 0")
    n_acc = n_accounts if n_accounts is not None else max(1, n_trades // 3)
    out = GTradeDevnet()
    out.diamond = _deploy(w3, deployer, "GTradeDiamond", CONTRACTS_VERSION_V10)
    for cs in COLLATERALS:
        out.tokens[cs.symbol] = _deploy(w3, deployer, "Token", f"devnet {cs.symbol}", cs.symbol, cs.decimals)
        out.gtokens[cs.symbol] = _deploy(w3, deployer, "GTokenVault", out.tokens[cs.symbol], cs.decimals, f"g{cs.symbol}")
    for ps in PAIRS:
        answer = ps.price_1e10 * 10**ps.feed_decimals // P
        out.feeds[pair_name(ps)] = _deploy(w3, deployer, "PriceFeed", ps.feed_decimals, f"{ps.base} / {ps.quote}", answer)
    out.deploy_block = int(w3.eth.block_number)
    now = int(w3.eth.get_block("latest")["timestamp"])
    d = out.diamond
    for cs in COLLATERALS:
        _call(w3, deployer, "GTradeDiamond", d, "addCollateral", out.tokens[cs.symbol], out.gtokens[cs.symbol],
              10**cs.decimals, 10 ** (18 - cs.decimals), cs.price_usd_1e8)
    for name, lo, hi, lp in GROUPS:
        _call(w3, deployer, "GTradeDiamond", d, "addGroup", (name, b"\x00" * 32, lo, hi),
              (lp.max_liq_spread_p, lp.start_liq_threshold_p, lp.end_liq_threshold_p, lp.start_leverage, lp.end_leverage))
    for f in FEES:
        _call(w3, deployer, "GTradeDiamond", d, "addFee", (f[0], f[1], f[2], f[3], 0))
    for ps in PAIRS:
        feed = (out.feeds[pair_name(ps)], "0x" + "00" * 20, 0, 2 * P)
        _call(w3, deployer, "GTradeDiamond", d, "addPair", (ps.base, ps.quote, feed, ps.spread_p, ps.group, ps.fee),
              ps.max_leverage)
    # borrowing v2 per (collateral, pair): the accumulator as it stands `now`, updated an hour ago
    acc_now: dict[tuple[int, int], int] = {}
    for ci, cs in enumerate(COLLATERALS, start=1):
        for pi, ps in enumerate(PAIRS):
            acc = BORROW_RATE_PER_SECOND_P * SEEDED_HOURS * 3600 * ps.price_1e10
            acc_now[(ci, pi)] = acc
            max_oi = 5_000_000 * 10**8 // cs.price_usd_1e8 * 10**cs.decimals
            _call(w3, deployer, "GTradeDiamond", d, "setPairCollateralParams", ci, pi, max_oi, BORROW_RATE_PER_SECOND_P,
                  acc, now - 3600)
    trades = generate_trades(n_trades, n_acc, seed, now, _accounts(n_acc, seed))
    for t in trades:
        # a trade opened `age` seconds ago started from the accumulator of that moment
        ps = PAIRS[t["pairIndex"]]
        t["initialAccBorrowingFeeP"] = max(0, acc_now[(t["collateralIndex"], t["pairIndex"])]
                                           - BORROW_RATE_PER_SECOND_P * t["age"] * ps.price_1e10)
    trades.sort(key=lambda t: (t["user"], t["index"]))   # per trader in index order (storeTrades checks)
    written = 0
    for s in range(0, len(trades), TRADES_PER_TX):
        chunk = trades[s:s + TRADES_PER_TX]
        _call(w3, deployer, "GTradeDiamond", d, "storeTrades",
              [(t["user"], t["index"], t["pairIndex"], t["leverage"], t["long"], True, t["collateralIndex"], 0,
                t["collateralAmount"], t["openPrice"], 0, 0, False, t["positionSizeToken"], 0) for t in chunk],
              [(t["createdBlock"], 0, 0, 1000, t["lastOiUpdateTs"], t["collateralPriceUsd"], CONTRACTS_VERSION_V10,
                t["createdBlock"], 0) for t in chunk],
              [(t["liq"].max_liq_spread_p, t["liq"].start_liq_threshold_p, t["liq"].end_liq_threshold_p,
                t["liq"].start_leverage, t["liq"].end_leverage) for t in chunk],
              [(0, 0, 0, 0, 0, 0, 0, t["initialAccBorrowingFeeP"]) for t in chunk])
        written += len(chunk)
        if progress:
            progress(written)
    # gToken vaults: supply worth ~3x the open interest in each collateral, traders slightly losing
    for ci, cs in enumerate(COLLATERALS, start=1):
        oi_units = sum(gm.position_size_collateral(t["collateralAmount"], t["leverage"]) for t in trades
                       if t["collateralIndex"] == ci)
        supply = max(3 * oi_units, 10**cs.decimals * 1000)
        rewards = 4 * 10**16                   # 4 % of fees accrued per share
        used = -2 * 10**16                     # traders net losing: over-collateralized
        _call(w3, deployer, "GTokenVault", out.gtokens[cs.symbol], "seed", supply, rewards, used, used, supply, -supply // 50,
              supply * rewards // 10**18, supply // 20)
    out.trades = trades
    out.seeded_block = int(w3.eth.block_number)
    return out


def book_json(dep: GTradeDevnet) -> dict[str, Any]:
    """The seeded book as JSON (exact ints as decimal strings)."""
    def plain(t: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in t.items():
            if isinstance(v, gm.LiquidationParams):
                v = [str(x) for x in (v.max_liq_spread_p, v.start_liq_threshold_p, v.end_liq_threshold_p,
                                      v.start_leverage, v.end_leverage)]
            elif isinstance(v, int) and not isinstance(v, bool):
                v = str(v)
            out[k] = v
        return out
    return {"diamond": dep.diamond, "deploy_block": dep.deploy_block, "seeded_block": dep.seeded_block,
            "trades": [plain(t) for t in dep.trades]}
