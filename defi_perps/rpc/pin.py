"""Pin a snapshot to one block: check the chain id, resolve ``--block`` against the head and deployment.

The pinned block is known by number AND hash; every later read is pinned by the hash (EIP-1898) and
verified against the number, timestamp and parent hash (multicall.py), so a reorg or a load
balancer answering for another block cannot mix two blocks into one snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from defi_perps.exceptions import ChainMismatchError, InputError, RpcError
from defi_perps.rpc.client import RpcClient


@dataclass(frozen=True)
class PinnedBlock:
    """The block every read of one snapshot uses."""

    number: int
    hash: str
    timestamp: int
    head: int
    parent_hash: str | None = None


def check_chain_id(client: RpcClient, expected: int, chain_name: str) -> int:
    """The endpoint's chain id must equal the chain file's; ChainMismatchError names both."""
    actual = client.chain_id()
    if actual != expected:
        raise ChainMismatchError(
            f"RPC {client.where} serves chain id {actual}, but chain {chain_name!r} declares chain id {expected}")
    return actual


def pin_block(client: RpcClient, block: int | None, min_block: int = 0, what: str = "the deployment") -> PinnedBlock:
    """Resolve the snapshot block: the latest one when ``block`` is None, else ``block`` after checks."""
    if block is not None:
        if isinstance(block, bool) or not isinstance(block, int):
            raise InputError(f"block must be a whole number, got {block!r}")
        if block < 0:
            raise InputError(f"block must be >= 0, got {block}")
        if block >= 2**63:
            raise InputError(f"block {block} is out of range")
    head_blk = client.get_block("latest")
    if not head_blk:
        raise RpcError(f"RPC {client.where} returned no latest block")
    head = int(head_blk["number"], 16)
    blk: dict[str, Any] | None
    if block is None:
        blk = head_blk
    else:
        if block > head:
            raise InputError(f"block {block} is beyond the chain head (latest block is {head})")
        if block < min_block:
            raise InputError(f"block {block} is before {what} (block {min_block})")
        blk = head_blk if block == head else client.get_block(block)
        if not blk:
            raise RpcError(f"RPC {client.where} has no block {block}")
    number = int(blk["number"], 16)
    if number < min_block:
        raise InputError(f"block {number} is before {what} (block {min_block})")
    return PinnedBlock(number=number, hash=blk["hash"].lower(), timestamp=int(blk["timestamp"], 16), head=head,
                       parent_hash=blk["parentHash"].lower())
