"""Per-path random streams: SplitMix64, seeded from (seed, path index).

Every path owns its stream, so results do not depend on how paths are split across threads or
chunks (numba's global RNG keeps one state per thread, numba issue #3249; we never use it).
SplitMix64 is Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (OOPSLA 2014);
the constants are the published ones. The kernel and the pure-Python twin below draw identical
sequences. :func:`normal` is Box–Muller, cosine branch only (two uniforms per normal).
:func:`gauss`, which the price model draws from, is Marsaglia's polar method (Marsaglia & Bray,
"A convenient method for generating normal variables", SIAM Review 6, 1964): a point (u, v)
uniform in the square [-1, 1]², rejected unless 0 < s = u² + v² < 1 (accepted with probability
π/4), gives two independent normals u·f and v·f with f = sqrt(−2 ln s / s). Both are used: the
second is kept in a two-slot ``spare`` array and returned by the next call. A normal then costs
about 1.27 uniforms, half a logarithm, half a square root and half a division, and no sine or
cosine; every operation is IEEE-exact or libm's log, so the twin's values are the kernel's bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from defi_perps.engine._jit import njit

_GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi


@njit
def _mix64(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@njit
def path_state(seed: int, path: int) -> np.uint64:
    """Initial state of path ``path``'s stream (both non-negative)."""
    return _mix64(np.uint64(seed) ^ _mix64(np.uint64(path) + np.uint64(_GAMMA)))


@njit
def next_u64(state: np.ndarray) -> np.uint64:
    state[0] = state[0] + np.uint64(_GAMMA)
    return _mix64(state[0])


@njit
def uniform(state: np.ndarray) -> float:
    """Uniform on the open interval (0, 1)."""
    return (np.float64(next_u64(state) >> np.uint64(11)) + 0.5) * _INV53


@njit
def normal(state: np.ndarray) -> float:
    u1 = uniform(state)
    u2 = uniform(state)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@njit(inline="always")
def gauss(state: np.ndarray, spare: np.ndarray) -> float:
    """A standard normal from polar-method pairs: the first now, the second (kept in ``spare[0]``,
    ``spare[1] = 1`` while held) at the next call."""
    if spare[1] != 0.0:
        spare[1] = 0.0
        return spare[0]
    while True:
        u = 2.0 * uniform(state) - 1.0
        v = 2.0 * uniform(state) - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            break
    f = math.sqrt(-2.0 * math.log(s) / s)
    spare[0] = v * f
    spare[1] = 1.0
    return u * f


class PyStream:
    """The same stream in plain Python integers (used by the reference twin)."""

    def __init__(self, seed: int, path: int) -> None:
        self.state = self._mix(seed ^ self._mix((path + _GAMMA) & _MASK))
        self.spare: float | None = None

    @staticmethod
    def _mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * _M1) & _MASK
        z = ((z ^ (z >> 27)) * _M2) & _MASK
        return z ^ (z >> 31)

    def next_u64(self) -> int:
        self.state = (self.state + _GAMMA) & _MASK
        return self._mix(self.state)

    def uniform(self) -> float:
        return (float(self.next_u64() >> 11) + 0.5) * _INV53

    def normal(self) -> float:
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)

    def gauss(self) -> float:
        """:func:`gauss` (polar method, both normals of a pair)."""
        if self.spare is not None:
            z, self.spare = self.spare, None
            return z
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        f = math.sqrt(-2.0 * math.log(s) / s)
        self.spare = v * f
        return u * f
