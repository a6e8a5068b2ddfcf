"""The RPC layer: JSON-RPC over HTTP with retries and a round-trip count, reads pinned to one block,
Multicall3 ``aggregate3`` batching. The only package (with the protocol readers) that touches the network.
"""

from defi_perps.rpc.abi import ContractAbi, Function
from defi_perps.rpc.client import RpcClient, RetryPolicy
from defi_perps.rpc.multicall import Call, CallResult, Multicall
from defi_perps.rpc.pin import PinnedBlock, pin_block

__all__ = ["ContractAbi", "Function", "RpcClient", "RetryPolicy", "Call", "CallResult", "Multicall",
           "PinnedBlock", "pin_block"]
