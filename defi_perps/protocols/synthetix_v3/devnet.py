"""The Synthetix perps v3 part of the devnet: a PerpsMarketProxy read surface and its account NFT.

``contracts/src/synthetix_v3/SynthetixPerps.sol`` (``DevPerpsMarketProxy``, which creates ``DevPerpsAccountNft``)
exposes the real selectors and layouts and computes the margin views with the contracts' formulas
from seeded state. :func:`seed` deploys it from the given account, lists a few markets with devnet
parameters (Base market ids and parameters: 100 ETH, 200 BTC, 400 SOL; prices are the devnet's),
mints accounts (some without positions, as on chain, where most accounts are empty), posts snxUSD
and synth collateral, opens positions around the index price (a few accounts underwater) and
pushes recent liquidations on one market so its window capacity is partly used.

It returns the inputs it wrote (:class:`DevnetSynthetix`) so tests recompute every view with
``math.py`` and compare with what the reader read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from defi_perps.devnet.artifacts import artifact
from defi_perps.protocols.synthetix_v3.math import KeeperGuards, MarketConfig

D18 = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def d18(x: float | str) -> int:
    from decimal import Decimal

    return int(Decimal(str(x)) * D18)


@dataclass(frozen=True)
class MarketSpec:
    """A market's Base mainnet parameters (Synthetixio/synthetix-deployments @ bb0c6bca,
    tomls/omnibus-base-mainnet-andromeda/perps/markets/<symbol>.toml); the price is the devnet's."""

    market_id: int
    name: str
    symbol: str
    price: str
    skew_scale: str
    maker_fee: str
    taker_fee: str
    initial_margin_ratio: str
    maintenance_margin_scalar: str
    max_funding_velocity: str
    minimum_initial_margin_ratio: str = "0.02"
    flag_reward_ratio: str = "0.0003"
    multiplier: str = "1.5"
    window_s: int = 30
    minimum_position_margin: str = "15"
    locked_oi_ratio: str = "0.1"
    max_liquidation_pd: str = "0.0005"
    endorsed_liquidator: str = "0x11233749514Ab8d00C0A5873DF7428b3db70030f"


MARKETS = (MarketSpec(100, "Ethereum", "ETH", "3480.52", "300000", "0.000001", "0.0005", "1.16", "0.28", "9"),
           MarketSpec(200, "Bitcoin", "BTC", "97250.5", "12500", "0.000001", "0.0005", "1.54", "0.28", "9"),
           MarketSpec(400, "Solana", "SOL", "182.37", "1635000", "0.0002", "0.0008", "3.592", "0.391", "36"))
# global.toml of the same deployment: setKeeperRewardGuards and setCollateralLiquidateRewardRatio
GUARDS = KeeperGuards(min_keeper_reward_usd=d18(1), min_keeper_profit_ratio=d18("0.30"), max_keeper_reward_usd=d18(30),
                      max_keeper_scaling_ratio=d18("0.3"), collateral_liquidate_reward_ratio=d18("0.0003"))
# keeper costs come from an oracle node on chain (KeeperCosts); the devnet's are fixed values
FLAG_COST, LIQUIDATE_COST = d18("0.5"), d18("0.3")


def config(spec: MarketSpec) -> MarketConfig:
    return MarketConfig(skew_scale=d18(spec.skew_scale), maker_fee=d18(spec.maker_fee), taker_fee=d18(spec.taker_fee),
                        initial_margin_ratio=d18(spec.initial_margin_ratio),
                        minimum_initial_margin_ratio=d18(spec.minimum_initial_margin_ratio),
                        maintenance_margin_scalar=d18(spec.maintenance_margin_scalar),
                        flag_reward_ratio=d18(spec.flag_reward_ratio),
                        minimum_position_margin=d18(spec.minimum_position_margin),
                        max_liquidation_limit_accumulation_multiplier=d18(spec.multiplier),
                        max_seconds_in_liquidation_window=spec.window_s, max_liquidation_pd=d18(spec.max_liquidation_pd),
                        endorsed_liquidator=spec.endorsed_liquidator)


@dataclass
class SeededAccount:
    account_id: int
    owner: str
    collateral: dict[int, int]                           # collateral id → amount (D18)
    debt: int
    positions: dict[int, tuple[int, int, int, int]]      # market → (size, entry price, accrued funding, owed interest)


@dataclass
class DevnetSynthetix:
    proxy: str
    account_nft: str
    deploy_block: int
    block_number: int
    markets: tuple[MarketSpec, ...]
    configs: dict[int, MarketConfig]
    prices: dict[int, int]
    collateral_prices: dict[int, int]
    accounts: list[SeededAccount]
    liquidations: dict[int, list[tuple[int, int]]]
    flagged: tuple[int, ...]
    guards: KeeperGuards = GUARDS
    flag_cost: int = FLAG_COST
    liquidate_cost: int = LIQUIDATE_COST
    skews: dict[int, int] = field(default_factory=dict)

    @property
    def section(self) -> dict[str, Any]:
        return {"perps_market_proxy": self.proxy, "account_nft": self.account_nft, "deploy_block": self.deploy_block}


def _send(w3: Web3, sender: str, tx: dict[str, Any]) -> Any:
    tx = {"from": sender, "gas": 30_000_000, **tx}
    h = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
    rc = w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
    if rc["status"] != 1:
        from defi_perps.exceptions import DevnetError

        raise DevnetError(f"devnet Synthetix transaction reverted (block {rc['blockNumber']})")
    return rc


def seed(w3: Web3, deployer: str, accounts: int = 80, seed: int = 0) -> DevnetSynthetix:
    rng = random.Random(f"synthetix v3 book {seed}")
    art = artifact("DevPerpsMarketProxy")
    rc = _send(w3, deployer, {"data": art["bytecode"]})
    proxy = Web3.to_checksum_address(rc["contractAddress"])
    deploy_block = int(rc["blockNumber"])
    c = w3.eth.contract(address=proxy, abi=art["abi"])  # type: ignore[arg-type]

    def tx(fn: str, *args: Any) -> None:
        _send(w3, deployer, {"to": proxy, "data": c.encode_abi(fn, args=list(args))})

    configs = {m.market_id: config(m) for m in MARKETS}
    prices = {m.market_id: d18(m.price) for m in MARKETS}
    collateral_prices = {0: D18, 1: prices[100]}            # snxUSD, and a synth priced like ETH
    for cid, px in collateral_prices.items():
        tx("setCollateral", cid, px)
    tx("setGlobals", [GUARDS.min_keeper_reward_usd, GUARDS.min_keeper_profit_ratio, GUARDS.max_keeper_reward_usd,
                      GUARDS.max_keeper_scaling_ratio, GUARDS.collateral_liquidate_reward_ratio, FLAG_COST, LIQUIDATE_COST])
    seeded: list[SeededAccount] = []
    skews = {m.market_id: 0 for m in MARKETS}
    sizes = {m.market_id: 0 for m in MARKETS}
    for k in range(accounts):
        owner = Web3.to_checksum_address("0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40)))
        account_id = 170141183460469231731687303715884105728 + 1000 + k * 7   # 2^127 + …: the shape of Base ids
        usd = int(rng.lognormvariate(8.5, 1.1) * 1e6) * 10**12
        coll = {0: usd}
        if rng.random() < 0.2:
            coll[1] = d18(round(rng.uniform(0.1, 3.0), 4))
        pos: dict[int, tuple[int, int, int, int]] = {}
        if rng.random() < 0.8:                                   # a fifth of the accounts hold nothing
            for m in rng.sample(list(MARKETS), rng.randint(1, 2)):
                px = prices[m.market_id]
                lev = rng.uniform(1.5, 25.0)
                notional = usd * lev / len(coll)
                size = int(notional / px * D18)
                size = size if rng.random() < 0.55 else -size
                entry = int(px * (1 + rng.uniform(-0.05, 0.05)))
                funding = int(size * rng.uniform(-0.002, 0.002) * px / D18 / D18)
                interest = int(abs(notional) * rng.uniform(0, 0.001))
                pos[m.market_id] = (size, entry, funding, interest)
                skews[m.market_id] += size
                sizes[m.market_id] += abs(size)
        debt = int(usd * 0.05) if rng.random() < 0.1 else 0
        seeded.append(SeededAccount(account_id, owner, coll, debt, pos))
    for m in MARKETS:
        cfg = configs[m.market_id]
        tx("setMarket", m.market_id, (m.name, m.symbol, prices[m.market_id], skews[m.market_id], sizes[m.market_id],
                                      d18("0.0012"), d18("-0.0003"), cfg.skew_scale, d18(m.max_funding_velocity),
                                      cfg.maker_fee, cfg.taker_fee,
                                      cfg.initial_margin_ratio, cfg.minimum_initial_margin_ratio,
                                      cfg.maintenance_margin_scalar, cfg.flag_reward_ratio, cfg.minimum_position_margin,
                                      cfg.max_liquidation_limit_accumulation_multiplier,
                                      cfg.max_seconds_in_liquidation_window, cfg.max_liquidation_pd,
                                      cfg.endorsed_liquidator, 0, d18(m.locked_oi_ratio)))
    for s in seeded:
        mids = list(s.positions)
        tx("seedAccount", s.owner, s.account_id, list(s.collateral), list(s.collateral.values()), s.debt, mids,
           [s.positions[m] for m in mids])
    now = int(w3.eth.get_block("latest")["timestamp"])
    liqs = {100: [(now - 120, d18(40)), (now - 10, d18(150)), (now - 5, d18(60))]}
    for mid, entries in liqs.items():
        for ts, amount in entries:
            tx("addLiquidation", mid, ts, amount)
    flagged = tuple(s.account_id for s in seeded[:2] if not s.positions)
    tx("setFlagged", list(flagged))
    nft = Web3.to_checksum_address(c.functions.getAccountTokenAddress().call())
    return DevnetSynthetix(proxy=proxy, account_nft=nft, deploy_block=deploy_block,
                           block_number=int(w3.eth.block_number), markets=MARKETS, configs=configs, prices=prices,
                           collateral_prices=collateral_prices, accounts=seeded, liquidations=liqs, flagged=flagged,
                           skews=skews)
