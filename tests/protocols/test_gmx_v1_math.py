"""GMX v1 exact math against hand-computed cases (gmx-io/gmx-contracts VaultUtils.validateLiquidation,
Vault.getDelta / getNextFundingRate, GlpManager.getAum @ fe55c4ba), rounding and boundaries included.
The devnet test (test_gmx_v1_devnet.py) checks the same functions against the contract's answers."""

from __future__ import annotations

import pytest
from eth_abi.packed import encode_packed
from eth_utils import keccak

from defi_perps.protocols.gmx_v1 import math as gm

U = 10**30          # 1 USD / 1 USD-per-token in the Vault's scale


def terms(**kw: int) -> gm.Terms:
    base = dict(margin_fee_basis_points=10, liquidation_fee_usd=5 * U, max_leverage=500_000,
                cumulative_funding_rate=1_500)
    base.update(kw)
    return gm.Terms(**base)  # type: ignore[arg-type]


def check(price: int, *, size: int = 10_000 * U, collateral: int = 1_000 * U, avg: int = 2_000 * U,
          is_long: bool = True, entry: int = 1_000, last: int = 0, **kw: int) -> gm.LiquidationCheck:
    return gm.validate_liquidation(size=size, collateral=collateral, average_price=avg, entry_funding_rate=entry,
                                   last_increased_time=last, is_long=is_long, price=price, terms=terms(**kw))


def test_position_key_is_keccak_of_the_packed_fields() -> None:
    a, c, i = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    want = "0x" + keccak(encode_packed(["address", "address", "address", "bool"], [a, c, i, True])).hex()
    assert gm.position_key(a, c, i, True) == want
    assert gm.position_key(a, c, i, False) != want        # the side is part of the key (61 bytes packed)


def test_healthy_long_with_exact_fees() -> None:
    # delta = 10,000 × 150 / 2,000 = 750 USD; funding = 10,000 × (1,500 − 1,000) / 1e6 = 5 USD;
    # position fee = 10,000 − 10,000 × 9,990 / 10,000 = 10 USD → remaining 250 ≥ 15 + 5, and
    # 250 × 500,000 = 1.25e38 ≥ 10,000 × 1e4 → state 0
    c = check(1_850 * U)
    assert (c.state, c.margin_fees, c.delta, c.remaining) == (0, 15 * U, 750 * U, 250 * U)
    assert (c.funding_fee, c.position_fee) == (5 * U, 10 * U)


def test_max_leverage_boundary_is_inclusive() -> None:
    # at 40x: 250 × 400,000 = 1e38 = 10,000 × 1e4 — not below, so healthy; one basis point less → state 2
    assert check(1_850 * U, max_leverage=400_000).state == 0
    c = check(1_850 * U, max_leverage=399_999)
    assert (c.state, c.margin_fees, c.reason) == (2, 15 * U, "maxLeverage exceeded")


def test_fee_rounding_up_and_funding_rounding_down() -> None:
    # getPositionFee: 1,234,567 − floor(1,234,567 × 9,990 / 10,000) = 1,234,567 − 1,233,332 = 1,235 (≥ 1,234.567)
    assert gm.position_fee(1_234_567, 10) == 1_235
    # getFundingFee: floor(1,234,567 × 7 / 1e6) = floor(8.64) = 8
    assert gm.funding_fee(1_234_567, 1_007, 1_000) == 8
    assert gm.position_fee(0, 10) == 0 and gm.funding_fee(0, 5, 0) == 0


def test_delta_truncates() -> None:
    # 3 × (8 − 7) / 7 USD = 0.428571… → 428571428571428571428571428571 (1e30 scale, truncated)
    assert gm.get_delta(3 * U, 7 * U, 8 * U, True) == (True, 428571428571428571428571428571)
    assert gm.get_delta(3 * U, 7 * U, 8 * U, False) == (False, 428571428571428571428571428571)
    with pytest.raises(ValueError):
        gm.get_delta(U, 0, U, True)


def test_short_losses_equal_to_collateral_then_above() -> None:
    # short 5,000 from $1,000 with $500: at $1,100 the loss is exactly 500 → not "losses exceed
    # collateral", remaining 0 < fees 5 → state 1 with the fees capped at the remaining 0
    c = check(1_100 * U, size=5_000 * U, collateral=500 * U, avg=1_000 * U, is_long=False, entry=1_500)
    assert (c.state, c.margin_fees, c.reason) == (1, 0, "fees exceed collateral")
    # one unit higher: delta = 500e30 + floor(5,000e30 / 1,000e30) = 500e30 + 5 > collateral → state 1, full fees
    c = check(1_100 * U + 1, size=5_000 * U, collateral=500 * U, avg=1_000 * U, is_long=False, entry=1_500)
    assert (c.state, c.margin_fees, c.delta, c.reason) == (1, 5 * U, 500 * U + 5, "losses exceed collateral")


def test_liquidation_fee_boundary() -> None:
    # remaining exactly fees + liquidation fee (15 + 5 = 20): not below → passes to the leverage test
    # collateral 770, loss 750 → remaining 20; 20 × 500,000 < 10,000 × 1e4 → state 2, not 1
    c = check(1_850 * U, collateral=770 * U)
    assert (c.state, c.reason) == (2, "maxLeverage exceeded")
    c = check(1_850 * U, collateral=770 * U - 1)
    assert (c.state, c.reason, c.margin_fees) == (1, "liquidation fees exceed collateral", 15 * U)


def test_min_profit_rule_and_its_time_boundary() -> None:
    # long 10,000 from $2,000 at $2,002: profit 10 USD; 10 × 1e4 ≤ 10,000 × 150 → counts as 0 until
    # minProfitTime has passed: strictly after last + minProfitTime (block.timestamp > …)
    kw = dict(min_profit_time=3600, min_profit_bps=150)
    assert check(2_002 * U, last=1_000, now=4_600, **kw).delta == 0          # now == last + time: still inside
    assert check(2_002 * U, last=1_000, now=4_601, **kw).delta == 10 * U
    assert check(2_002 * U, last=1_000, now=4_600, min_profit_time=3600, min_profit_bps=0).delta == 10 * U


def test_profit_pays_fees_when_liquidating() -> None:
    # _raise = false (liquidatePosition): a 100 USD profit is added to 10 USD of collateral → 110 ≥ 20,
    # but 110 × 500,000 < 10,000 × 1e4 → state 2 (closed; the trader keeps the rest), not state 1
    c = check(2_020 * U, collateral=10 * U)
    assert (c.has_profit, c.delta, c.remaining, c.state) == (True, 100 * U, 110 * U, 2)


def test_liquidation_price_long_hand_computed() -> None:
    # delta = 5 × (2,000e30 − P) exactly; state 2 once remaining 1,000e30 − delta < 200e30 (50x),
    # i.e. P < 1,840e30: the highest liquidating price is 1,840e30 − 1
    lp = gm.liquidation_price(size=10_000 * U, collateral=1_000 * U, average_price=2_000 * U, entry_funding_rate=1_000,
                              last_increased_time=0, is_long=True, terms=terms())
    assert lp == 1_840 * U - 1
    assert check(lp).state == 2 and check(lp + 1).state == 0


def test_liquidation_price_short_hand_computed() -> None:
    # short 5,000 from $1,000 with $1,000: delta = 5 × (P − 1,000e30); remaining < 100e30 once P > 1,180e30
    kw = dict(size=5_000 * U, collateral=1_000 * U, avg=1_000 * U, is_long=False, entry=1_500)
    lp = gm.liquidation_price(size=5_000 * U, collateral=1_000 * U, average_price=1_000 * U, entry_funding_rate=1_500,
                              last_increased_time=0, is_long=False, terms=terms())
    assert lp == 1_180 * U + 1
    assert check(lp, **kw).state == 2 and check(lp - 1, **kw).state == 0


def test_next_funding_rate_and_the_update_before_liquidation() -> None:
    # intervals = (36,005 − 25,200) // 3,600 = 3; 100 × 20e18 × 3 // 100e18 = 60
    assert gm.next_funding_rate(36_005, 25_200, 3_600, 100 * 10**18, 20 * 10**18, 100) == 60
    assert gm.next_funding_rate(28_799, 25_200, 3_600, 100 * 10**18, 20 * 10**18, 100) == 0   # interval not over
    assert gm.next_funding_rate(36_005, 25_200, 3_600, 0, 20 * 10**18, 100) == 0             # empty pool
    assert gm.funding_rate_at_liquidation(7_000, 25_200, 60) == 7_060
    assert gm.funding_rate_at_liquidation(7_000, 0, 60) == 7_000     # first update only starts the clock


def test_glp_aum_hand_computed() -> None:
    usdc = (True, 6, 1_000_000 * 10**6, 0, 0, 0, 0, U)
    # WETH at $2,100 (max): shorts 30,000 from $2,000 lose 1,500 → GLP +1,500; + guaranteed 50,000
    # + (100 − 20) × 2,100 = 168,000 → 1,219,500 USD
    weth_max = (False, 18, 100 * 10**18, 20 * 10**18, 50_000 * U, 30_000 * U, 2_000 * U, 2_100 * U)
    assert gm.glp_aum([usdc, weth_max], True) == 1_219_500 * U
    # at $1,900 (min): shorts win 1,500, deducted at the end: 1,000,000 + 50,000 + 152,000 − 1,500
    weth_min = weth_max[:7] + (1_900 * U,)
    assert gm.glp_aum([usdc, weth_min], False) == 1_200_500 * U
    assert gm.glp_aum([usdc, weth_min], False, aum_addition=U, aum_deduction=2 * U) == 1_200_499 * U
    assert gm.glp_aum([weth_min], False, aum_deduction=10**40) == 0


def test_abi_matches_the_published_signatures() -> None:
    """abis/gmx_v1 gives the canonical signatures of gmx-io/gmx-contracts contracts/core/Vault.sol and
    GlpManager.sol @ fe55c4ba (declarations copied here as signature strings: facts, not code)."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "abis" / "gmx_v1"

    def sigs(name: str) -> set[str]:
        out = set()
        for f in json.loads((root / f"{name}.json").read_text()):
            if f["type"] in ("function", "event"):
                out.add(f"{f['type']} {f['name']}({','.join(i['type'] for i in f['inputs'])})")
        return out

    vault = sigs("Vault")
    for s in ("function positions(bytes32)", "function getPosition(address,address,address,bool)",
              "function getPositionKey(address,address,address,bool)",
              "function validateLiquidation(address,address,address,bool,bool)",
              "function getDelta(address,uint256,uint256,bool,uint256)", "function getMinPrice(address)",
              "function getMaxPrice(address)", "function poolAmounts(address)", "function reservedAmounts(address)",
              "function guaranteedUsd(address)", "function globalShortSizes(address)",
              "function globalShortAveragePrices(address)", "function cumulativeFundingRates(address)",
              "function allWhitelistedTokens(uint256)", "function allWhitelistedTokensLength()",
              "function getNextFundingRate(address)", "function liquidationFeeUsd()", "function maxLeverage()",
              "event IncreasePosition(bytes32,address,address,address,uint256,uint256,bool,uint256,uint256)",
              "event DecreasePosition(bytes32,address,address,address,uint256,uint256,bool,uint256,uint256)",
              "event LiquidatePosition(bytes32,address,address,address,bool,uint256,uint256,uint256,int256,uint256)",
              "event UpdatePosition(bytes32,uint256,uint256,uint256,uint256,uint256,int256,uint256)",
              "event ClosePosition(bytes32,uint256,uint256,uint256,uint256,uint256,int256)"):
        assert s in vault, s
    outs = {f["name"]: [o["type"] for o in f["outputs"]] for f in json.loads((root / "Vault.json").read_text())
            if f["type"] == "function"}
    # the public getter of struct Position {size, collateral, averagePrice, entryFundingRate,
    # reserveAmount, int256 realisedPnl, lastIncreasedTime}
    assert outs["positions"] == ["uint256"] * 5 + ["int256", "uint256"]
    assert outs["getPosition"] == ["uint256"] * 6 + ["bool", "uint256"]
    assert {"function getAum(bool)", "function getAums()"} <= sigs("GlpManager")
