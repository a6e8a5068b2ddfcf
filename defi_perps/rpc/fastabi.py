"""Fast ABI paths for the hot loop (20,000 positions): static tuples and Multicall3 ``aggregate3``.

eth-abi is general and validates everything, and at ~1.5 ms per decoded position it was 2/3 of an
indexing run. The formats here are fixed by the ABI spec (docs.soliditylang.org, "Contract ABI
Specification": static types are 32-byte words in place; dynamic ones are an offset in the head and
length + data in the tail), so these few shapes are decoded by slicing words. tests/unit checks every
path against eth-abi.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from defi_perps.exceptions import AbiMismatchError

Node = str | tuple["Node", ...]


def parse_type(t: str) -> Node | None:
    """A type string as a tree of basic types and tuples; None when it is not fully static."""
    if t.endswith("]") or t in ("bytes", "string"):
        return None
    if t.startswith("("):
        parts, depth, cur = [], 0, ""
        for ch in t[1:-1]:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += ch == "("
            depth -= ch == ")"
            cur += ch
        if cur:
            parts.append(cur)
        kids = tuple(parse_type(p) for p in parts)
        return None if any(k is None for k in kids) else kids  # type: ignore[return-value]
    if t in ("address", "bool") or t.startswith(("uint", "int", "bytes")):
        return t
    return None


def words(node: Node) -> int:
    return 1 if isinstance(node, str) else sum(words(k) for k in node)


def _decode(node: Node, data: bytes, pos: int) -> tuple[Any, int]:
    if isinstance(node, str):
        w = data[pos:pos + 32]
        if node.startswith("uint"):
            return int.from_bytes(w, "big"), pos + 32
        if node.startswith("int"):
            return int.from_bytes(w, "big", signed=True), pos + 32
        if node == "address":
            return "0x" + w[12:].hex(), pos + 32
        if node == "bool":
            return w[31] == 1, pos + 32
        return bytes(w[:int(node[5:])]), pos + 32          # bytesN
    out = []
    for k in node:
        v, pos = _decode(k, data, pos)
        out.append(v)
    return tuple(out), pos


class StaticDecoder:
    """Decode the return data of a function whose outputs are all static (exact length required)."""

    def __init__(self, outputs: tuple[str, ...]) -> None:
        nodes = tuple(parse_type(t) for t in outputs)
        self.ok = all(n is not None for n in nodes)
        self.nodes: tuple[Node, ...] = nodes if self.ok else ()  # type: ignore[assignment]
        self.size = 32 * sum(words(n) for n in self.nodes)

    def __call__(self, data: bytes, label: str) -> tuple[Any, ...]:
        if len(data) != self.size:
            raise AbiMismatchError(f"cannot decode the answer of {label}: {len(data)} bytes, expected {self.size}")
        v, _ = _decode(self.nodes, data, 0)
        return v  # type: ignore[return-value]


def _word(x: int) -> bytes:
    return x.to_bytes(32, "big")


@lru_cache(maxsize=65536)
def _addr_word(a: str) -> bytes:
    return bytes(12) + bytes.fromhex(a[2:] if a.startswith(("0x", "0X")) else a)


def encode_static_args(inputs: tuple[str, ...], args: tuple[Any, ...]) -> bytes | None:
    """Encode arguments of the simple static kinds (address, bool, uintN, bytes32); None otherwise."""
    out = []
    for t, a in zip(inputs, args):
        if t == "address" and isinstance(a, str):
            out.append(_addr_word(a))
        elif t == "bytes32" and isinstance(a, (bytes, bytearray)) and len(a) == 32:
            out.append(bytes(a))
        elif t == "bool" and isinstance(a, bool):
            out.append(_word(int(a)))
        elif t.startswith("uint") and isinstance(a, int) and not isinstance(a, bool) and 0 <= a < 2**256:
            out.append(_word(a))
        else:
            return None
    return b"".join(out)


def encode_aggregate3(selector: bytes, calls: list[tuple[str, bool, bytes]]) -> bytes:
    """``aggregate3((address,bool,bytes)[])`` calldata."""
    n = len(calls)
    heads, tails, off = [], [], 32 * n
    for target, allow, data in calls:
        pad = (-len(data)) % 32
        elem = _addr_word(target) + _word(int(allow)) + _word(96) + _word(len(data)) + data + bytes(pad)
        heads.append(_word(off))
        tails.append(elem)
        off += len(elem)
    return selector + _word(32) + _word(n) + b"".join(heads) + b"".join(tails)


def decode_aggregate3(data: bytes) -> list[tuple[bool, bytes]]:
    """``(bool success, bytes returnData)[]`` from aggregate3's return data."""
    try:
        base = int.from_bytes(data[0:32], "big")
        n = int.from_bytes(data[base:base + 32], "big")
        start = base + 32
        out = []
        for i in range(n):
            e = start + int.from_bytes(data[start + 32 * i:start + 32 * i + 32], "big")
            ok = data[e + 31] == 1
            boff = e + int.from_bytes(data[e + 32:e + 64], "big")
            ln = int.from_bytes(data[boff:boff + 32], "big")
            ret = data[boff + 32:boff + 32 + ln]
            if len(ret) != ln:
                raise IndexError
            out.append((ok, ret))
        return out
    except IndexError:
        raise AbiMismatchError(f"cannot decode a Multicall3 aggregate3 answer of {len(data)} bytes") from None
