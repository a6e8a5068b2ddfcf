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
    """Decode one static value, rejecting non-canonical words (a node that garbles an answer must
    not turn into a plausible value): unused high bits of uintN/address/bool set, bool other than
    0/1, intN outside its range, bytesN with bytes after N."""
    if isinstance(node, str):
        w = data[pos:pos + 32]
        if node.startswith("uint"):
            v = int.from_bytes(w, "big")
            bits = int(node[4:] or 256)
            if v >> bits:
                raise _NonCanonical(node)
            return v, pos + 32
        if node.startswith("int"):
            v = int.from_bytes(w, "big", signed=True)
            bits = int(node[3:] or 256)
            if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
                raise _NonCanonical(node)
            return v, pos + 32
        if node == "address":
            if any(w[:12]):
                raise _NonCanonical(node)
            return "0x" + w[12:].hex(), pos + 32
        if node == "bool":
            if any(w[:31]) or w[31] > 1:
                raise _NonCanonical(node)
            return w[31] == 1, pos + 32
        n = int(node[5:])                                    # bytesN
        if any(w[n:]):
            raise _NonCanonical(node)
        return bytes(w[:n]), pos + 32
    out = []
    for k in node:
        v, pos = _decode(k, data, pos)
        out.append(v)
    return tuple(out), pos


class _NonCanonical(Exception):
    pass


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
        try:
            v, _ = _decode(self.nodes, data, 0)
        except _NonCanonical as err:
            raise AbiMismatchError(f"cannot decode the answer of {label}: a non-canonical {err} word") from None
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
    """``(bool success, bytes returnData)[]`` from aggregate3's return data.

    Every offset and length is checked against the bytes actually received before it is used: an
    array length of 2**64 in a 200-byte answer is an error at once, not a loop. Each element needs
    at least three words (success, offset, length), so the array can hold at most
    ``len(data) // 96`` elements; offsets must point inside the answer and word-aligned.
    """
    size = len(data)

    def word(at: int) -> int:
        if at < 0 or at + 32 > size:
            raise _Bad(f"offset {at} beyond the answer")
        return int.from_bytes(data[at:at + 32], "big")

    try:
        base = word(0)
        n = word(base)
        start = base + 32
        if n > (size - start) // 96:
            raise _Bad(f"array length {n} cannot fit in {size} bytes")
        out = []
        for i in range(n):
            rel = word(start + 32 * i)
            if rel % 32 or rel > size:
                raise _Bad(f"element {i} offset {rel}")
            e = start + rel
            flag = word(e)
            if flag > 1:
                raise _Bad(f"element {i} success flag {flag}")
            brel = word(e + 32)
            if brel % 32 or brel > size:
                raise _Bad(f"element {i} data offset {brel}")
            boff = e + brel
            ln = word(boff)
            if ln > size - boff - 32:
                raise _Bad(f"element {i} data length {ln}")
            out.append((flag == 1, bytes(data[boff + 32:boff + 32 + ln])))
        return out
    except _Bad as err:
        raise AbiMismatchError(f"malformed Multicall3 aggregate3 answer ({size} bytes): {err}") from None


class _Bad(Exception):
    pass
