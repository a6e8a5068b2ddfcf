"""The Hyperliquid part of the devnet: HyperCore read precompiles on anvil, with a seeded book.

``contracts/src/hyperliquid/HyperCore.sol`` holds the state (``HyperCoreState``, placed at :data:`STATE`) and
the precompile code (``HyperCoreReadPrecompile``, placed at every read-precompile address the
reader uses); both with ``anvil_setCode``, so the precompiles sit at their real addresses and
answer in the real encodings (abis/hyperliquid/SOURCES.md). The book is generated from a seed:
accounts with cross and isolated positions on a few perps (real mainnet coin names, size decimals
and max leverage; devnet prices), USDC spot balances and HLP-style vault equity; a few accounts are
seeded below maintenance so a snapshot has something to liquidate; the first account is a whale
($2.5M–10M per position).

:func:`seed` returns the exact records it wrote (:class:`DevnetHyperliquid`) so tests compare a
reader's snapshot with them field by field, and writes the accounts file the reader needs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from defi_perps.devnet.artifacts import artifact
from defi_perps.devnet.deploy import DEPLOYER, MULTICALL3
from defi_perps.protocols.hyperliquid.precompiles import precompiles
from defi_perps.protocols.hyperliquid.records import Account, PerpAsset, PerpPosition, SpotBalance, VaultEquity

STATE = "0x4C1EAD0000000000000000000000000000000800"     # = HyperCoreReadPrecompile.STATE
HLP_VAULT = Web3.to_checksum_address("0xdfc24b077bc1425ad1dea75bcb6f8158e10df303")   # the address commonly cited for HLP (protocols.md §6)
L1_BLOCK = 600_000_000
ACCOUNTS_FILE = "hyperliquid_accounts.txt"
BATCH = 150


@dataclass(frozen=True)
class PerpSpec:
    perp: int
    coin: str
    sz_decimals: int
    max_leverage: int
    price: float           # devnet mark price, USD
    margin_table_id: int = 0


# Mainnet names, size decimals and max leverage (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers
# for the leverage; szDecimals as the info API's `meta` lists them); indices and prices are the devnet's.
PERPS: tuple[PerpSpec, ...] = (
    PerpSpec(0, "BTC", 5, 40, 97_250.0, 56),
    PerpSpec(1, "ETH", 4, 25, 3_480.5, 55),
    PerpSpec(5, "SOL", 2, 20, 182.37, 54),
    PerpSpec(159, "HYPE", 2, 10, 38.912, 52),
)


@dataclass
class DevnetHyperliquid:
    """What :func:`seed` wrote, as the reader must read it back."""

    block_number: int
    perps: tuple[PerpAsset, ...]
    positions: tuple[PerpPosition, ...]
    accounts: tuple[Account, ...]
    spot_balances: tuple[SpotBalance, ...]
    vault_equities: tuple[VaultEquity, ...]
    accounts_file: Path
    l1_block_number: int = L1_BLOCK
    vaults: tuple[str, ...] = (Web3.to_checksum_address(HLP_VAULT),)
    section: dict[str, Any] = field(default_factory=dict)   # the chain file's [hyperliquid] table


def _px_raw(price: float, sz: int) -> int:
    return int(round(price * 10 ** (6 - sz)))


def _accounts(n: int, seed: int) -> list[str]:
    rng = random.Random(f"hyperliquid accounts {seed}")
    return [Web3.to_checksum_address("0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))) for _ in range(n)]


def generate(n_accounts: int = 120, seed: int = 0, perps: Sequence[PerpSpec] = PERPS) -> dict[str, Any]:
    """The book as records (exact ints), reproducible from ``seed``."""
    rng = random.Random(f"hyperliquid book {seed}")
    assets = []
    for s in perps:
        mark = _px_raw(s.price, s.sz_decimals)
        oracle = mark + int(mark * rng.uniform(-0.0008, 0.0008))
        spread = max(1, mark // 5000)
        assets.append(PerpAsset(perp=s.perp, coin=s.coin, margin_table_id=s.margin_table_id, sz_decimals=s.sz_decimals,
                                max_leverage=s.max_leverage, only_isolated=False, mark_px=mark, oracle_px=oracle,
                                bid_px=mark - spread, ask_px=mark + spread))
    by_perp = {a.perp: a for a in assets}
    positions: list[PerpPosition] = []
    accounts: list[Account] = []
    spots: list[SpotBalance] = []
    equities: list[VaultEquity] = []
    for k, who in enumerate(_accounts(n_accounts, seed)):
        held = rng.sample([a.perp for a in assets], rng.randint(1, min(3, len(assets))))
        cross_collateral = int(rng.lognormvariate(9.5, 1.2) * 1e6)          # USDC 1e6, ~ $13k median
        cross_raw = cross_collateral
        iso_value = 0
        ntl_total = used = 0
        mine = []
        for perp in held:
            a = by_perp[perp]
            isolated = rng.random() < 0.25
            lev = rng.randint(2, a.max_leverage)
            usd = rng.lognormvariate(9.8, 1.3) if k else 2.5e6 * rng.uniform(1.0, 4.0)   # account 0: a whale
            entry_px = a.mark_px * (1 + rng.uniform(-0.06, 0.06))
            szi = max(1, int(usd / (entry_px / 10 ** (6 - a.sz_decimals)) * 10 ** a.sz_decimals))
            sgn = 1 if rng.random() < 0.55 else -1
            szi *= sgn
            entry_ntl = int(round(abs(szi) * entry_px))                      # |szi| · px: USDC 1e6
            ntl = abs(szi) * a.mark_px
            ntl_total += ntl
            used += ntl // lev
            if isolated:
                margin = entry_ntl // lev + int(entry_ntl * rng.uniform(0.0, 0.05))
                iso_raw = margin - sgn * entry_ntl
                iso_value += iso_raw + szi * a.mark_px
                pos = PerpPosition(who, perp, szi, entry_ntl, iso_raw, lev, True)
            else:
                cross_raw -= sgn * entry_ntl
                pos = PerpPosition(who, perp, szi, entry_ntl, 0, lev, False)
            mine.append(pos)
        if k % 17 == 3 and any(not p.is_isolated for p in mine):
            # underwater on purpose: the cross account is worth half its maintenance margin at the mark
            need = sum(abs(p.szi) * by_perp[p.perp].mark_px // (2 * by_perp[p.perp].max_leverage)
                       for p in mine if not p.is_isolated)
            cross_raw = need // 2 - sum(p.szi * by_perp[p.perp].mark_px for p in mine if not p.is_isolated)
        cross_value = cross_raw + sum(p.szi * by_perp[p.perp].mark_px for p in mine if not p.is_isolated)
        account_value = cross_value + iso_value
        raw_total = cross_raw + sum(p.isolated_raw_usd for p in mine)
        withdrawable = max(0, account_value - used)
        positions += mine
        accounts.append(Account(who, account_value, used, ntl_total, raw_total, withdrawable, True))
        if rng.random() < 0.6:
            total = int(rng.lognormvariate(8.0, 1.5) * 1e8)                 # USDC spot: 8 wei decimals
            hold = total // rng.randint(2, 10) if rng.random() < 0.3 else 0
            spots.append(SpotBalance(who, 0, total, hold, 0))
        if rng.random() < 0.3:
            equities.append(VaultEquity(who, Web3.to_checksum_address(HLP_VAULT), int(rng.lognormvariate(8.5, 1.4) * 1e6),
                                        1767225600 + rng.randint(0, 4 * 86400)))
    return {"perps": tuple(assets), "positions": tuple(positions), "accounts": tuple(accounts),
            "spot_balances": tuple(spots), "vault_equities": tuple(equities)}


def install(w3: Web3) -> None:
    """Place the state and the precompiles' code; Multicall3 too when it is not there yet."""
    code = artifact("HyperCoreReadPrecompile")["deployedBytecode"]
    w3.provider.make_request("anvil_setCode", [STATE, artifact("HyperCoreState")["deployedBytecode"]])  # type: ignore[arg-type]
    for p in precompiles().values():
        w3.provider.make_request("anvil_setCode", [p.address, code])  # type: ignore[arg-type]
    if len(w3.eth.get_code(MULTICALL3)) == 0:  # type: ignore[arg-type]
        w3.provider.make_request("anvil_setCode", [MULTICALL3, artifact("Multicall3")["deployedBytecode"]])  # type: ignore[arg-type]


def _send(w3: Web3, sender: str, tx: dict[str, Any]) -> None:
    full: Any = {"from": sender, "gas": 30_000_000, **tx}
    h = w3.eth.send_transaction(full)
    rc = w3.eth.wait_for_transaction_receipt(h, timeout=300, poll_latency=0.01)
    if rc["status"] != 1:
        from defi_perps.exceptions import DevnetError

        raise DevnetError(f"devnet HyperCore state write reverted (block {rc['blockNumber']})")


def write_state(w3: Web3, book: dict[str, Any], l1_block: int = L1_BLOCK, sender: str = DEPLOYER) -> int:
    """Write ``book`` (from :func:`generate`) into the HyperCoreState; returns the last block."""
    c = w3.eth.contract(address=Web3.to_checksum_address(STATE), abi=artifact("HyperCoreState")["abi"])

    def _tx(w3: Web3, fn: str, *args: Any) -> None:
        _send(w3, sender, {"to": STATE, "data": c.encode_abi(fn, args=list(args))})

    _tx(w3, "setL1BlockNumber", l1_block)
    _tx(w3, "setToken", 0)
    _tx(w3, "setVault", HLP_VAULT)
    for a in book["perps"]:
        _tx(w3, "setPerp", a.perp, (a.coin, a.margin_table_id, a.sz_decimals, a.max_leverage, a.only_isolated),
            a.mark_px, a.oracle_px, (a.bid_px or 0, a.ask_px or 0))
    ps = book["positions"]
    for i in range(0, len(ps), BATCH):
        chunk = ps[i:i + BATCH]
        _tx(w3, "setPositions", [p.account for p in chunk], [p.perp for p in chunk],
            [(p.szi, p.entry_ntl, p.isolated_raw_usd, p.leverage, p.is_isolated) for p in chunk])
    acs = book["accounts"]
    for i in range(0, len(acs), BATCH):
        chunk = acs[i:i + BATCH]
        _tx(w3, "setAccounts", [a.account for a in chunk],
            [(a.account_value, a.margin_used, a.ntl_pos, a.raw_usd) for a in chunk], [a.withdrawable for a in chunk])
    sb = book["spot_balances"]
    for i in range(0, len(sb), BATCH):
        chunk = sb[i:i + BATCH]
        _tx(w3, "setSpotBalances", [s.account for s in chunk], [s.token for s in chunk],
            [(s.total, s.hold, s.entry_ntl) for s in chunk])
    ve = book["vault_equities"]
    for i in range(0, len(ve), BATCH):
        chunk = ve[i:i + BATCH]
        _tx(w3, "setVaultEquities", [e.account for e in chunk], [e.vault for e in chunk],
            [(e.equity, e.locked_until_timestamp) for e in chunk])
    return int(w3.eth.block_number)


def chain_section(accounts: Sequence[str], perps: Sequence[PerpSpec] = PERPS) -> dict[str, Any]:
    """The ``[hyperliquid]`` table of a devnet chain file (accounts inline: a recorded fixture's chain
    file must not point at a temporary accounts file)."""
    return {"perps": [p.perp for p in perps], "perp_dex": 0, "position_precompile": "position2",
            "spot_tokens": [0], "vaults": [HLP_VAULT], "calls": "multicall", "accounts": list(accounts)}


def seed(w3: Web3, state_dir: Path, accounts: int = 120, seed: int = 0, sender: str = DEPLOYER) -> DevnetHyperliquid:
    """Install the precompiles, write a generated book and the accounts file; what was written."""
    install(w3)
    book = generate(accounts, seed)
    block = write_state(w3, book, sender=sender)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / ACCOUNTS_FILE
    path.write_text("# Hyperliquid devnet accounts (HyperCore has no on-chain list of users)\n"
                    + "".join(f"{a.account}\n" for a in book["accounts"]))
    return DevnetHyperliquid(block_number=block, accounts_file=path,
                             section=chain_section([a.account for a in book["accounts"]]), **book)


__all__ = ["DEPLOYER", "DevnetHyperliquid", "PERPS", "PerpSpec", "STATE", "chain_section", "generate", "install",
           "seed", "write_state"]
