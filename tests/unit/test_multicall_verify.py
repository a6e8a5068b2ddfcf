"""Multicall3 batch verification against a fake node that answers aggregate3 like a chain would:
the echo and the block checks, on an EVM chain and on Arbitrum (block.number there is an L1 block
number; the L2 block comes from ArbSys at 0x64)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import decode, encode
from eth_utils import keccak

from defi_perps.rpc.abi import contract_abi
from defi_perps.rpc.client import RpcAnswerError
from defi_perps.rpc.multicall import ARBSYS, IDENTITY_PRECOMPILE, Call, Multicall
from defi_perps.rpc.pin import PinnedBlock

MC = "0xcA11bde05977b3631167028862bE2a173976CA11"
DS = "0x" + "aa" * 20
N, TS, PARENT, L1 = 1000, 1_700_000_000, "0x" + "12" * 32, 20_000_000
sel = {name: contract_abi("multicall3", "Multicall3")[name].selector
       for name in ("getBlockNumber", "getCurrentBlockTimestamp", "getBlockHash")}
GET_UINT = contract_abi("gmx_v2", "DataStore")["getUint"]


class FakeNode:
    """Runs aggregate3 the way a chain at block N would (arbitrum: block.number is L1's)."""

    where = "fake://node"

    def __init__(self, arbitrum: bool, lie_block: int | None = None) -> None:
        self.arbitrum, self.lie_block = arbitrum, lie_block
        self.fresh = 0

    def fresh_connection(self) -> None:
        self.fresh += 1

    def eth_call(self, to: str, data: bytes, block: Any) -> bytes:
        assert getattr(block, "hash", None), "every batch is pinned by hash"
        calls = decode(["(address,bool,bytes)[]"], data[4:])[0]
        n = self.lie_block or N
        out = []
        for target, _, cd in calls:
            target = target.lower()
            if target == IDENTITY_PRECOMPILE:
                out.append((True, cd))
            elif target == ARBSYS.lower():
                if not self.arbitrum:
                    out.append((True, b""))          # no precompile there: no code, empty success
                elif cd[:4] == keccak(text="arbBlockNumber()")[:4]:
                    out.append((True, encode(["uint256"], [n])))
                else:
                    (k,) = decode(["uint256"], cd[4:])
                    out.append((True, bytes.fromhex(PARENT[2:]) if k == N - 1 else bytes(32)))
            elif target == MC.lower() and cd[:4] == sel["getBlockNumber"]:
                out.append((True, encode(["uint256"], [L1 if self.arbitrum else n])))
            elif target == MC.lower() and cd[:4] == sel["getCurrentBlockTimestamp"]:
                out.append((True, encode(["uint256"], [TS])))
            elif target == MC.lower() and cd[:4] == sel["getBlockHash"]:
                (k,) = decode(["uint256"], cd[4:])
                ok = not self.arbitrum and k == N - 1      # on Arbitrum blockhash() sees L1 numbers
                out.append((True, bytes.fromhex(PARENT[2:]) if ok else bytes(32)))
            else:
                out.append((True, encode(["uint256"], [42])))
        return encode(["(bool,bytes)[]"], [out])


BLOCK = PinnedBlock(number=N, hash="0x" + "ab" * 32, timestamp=TS, head=N + 5, parent_hash=PARENT)
CALLS = [Call(DS, GET_UINT, (bytes(32),), allow_failure=False, label="x")] * 3


@pytest.mark.parametrize("arbitrum", [False, True], ids=["evm", "arbitrum"])
def test_verified_batch_on_each_chain_kind(arbitrum: bool) -> None:
    mc = Multicall(FakeNode(arbitrum), MC, BLOCK, block_context="arbitrum" if arbitrum else "evm")  # type: ignore[arg-type]
    assert [r.value for r in mc.run(CALLS)] == [42, 42, 42]


def test_arbitrum_checked_as_plain_evm_is_refused() -> None:
    # Multicall3.getBlockNumber() answers an L1 number on Arbitrum: the plain check must not pass it
    node = FakeNode(arbitrum=True)
    with pytest.raises(RpcAnswerError, match="instead of the pinned block"):
        Multicall(node, MC, BLOCK, block_context="evm").run(CALLS)  # type: ignore[arg-type]
    assert node.fresh == 2                         # resent on fresh connections before giving up


@pytest.mark.parametrize("arbitrum", [False, True], ids=["evm", "arbitrum"])
def test_another_block_is_refused(arbitrum: bool) -> None:
    node = FakeNode(arbitrum, lie_block=N - 1)
    with pytest.raises(RpcAnswerError, match=f"block {N - 1} instead of the pinned block {N}"):
        Multicall(node, MC, BLOCK, block_context="arbitrum" if arbitrum else "evm").run(CALLS)  # type: ignore[arg-type]


def test_selectors() -> None:
    from defi_perps.rpc.multicall import _ARB_BLOCK_HASH, _ARB_BLOCK_NUMBER

    assert _ARB_BLOCK_NUMBER.selector.hex() == "a3b1b31d"      # ArbSys.arbBlockNumber()
    assert _ARB_BLOCK_HASH.selector == keccak(text="arbBlockHash(uint256)")[:4]


def test_chain_files_pick_the_block_context() -> None:
    from pathlib import Path

    from defi_perps.config import load_chain_file

    root = Path(__file__).resolve().parents[2] / "chains"
    assert load_chain_file(root / "arbitrum.toml").block_context_kind == "arbitrum"
    assert load_chain_file(root / "avalanche.toml").block_context_kind == "evm"
    assert load_chain_file(root / "devnet.toml").block_context_kind == "evm"
