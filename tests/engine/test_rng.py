from __future__ import annotations

import numpy as np

from defi_perps.engine import rng


def test_kernel_stream_matches_python_twin_stream():
    for seed, path in ((0, 0), (7, 3), (2**62, 10**9)):
        s = np.empty(1, np.uint64)
        s[0] = rng.path_state(seed, path)
        py = rng.PyStream(seed, path)
        assert [rng.normal(s) for _ in range(50)] == [py.normal() for _ in range(50)]
        assert [rng.uniform(s) for _ in range(50)] == [py.uniform() for _ in range(50)]


def test_normals_look_normal_and_paths_differ():
    py = rng.PyStream(1, 0)
    z = np.array([py.normal() for _ in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert rng.PyStream(1, 0).normal() != rng.PyStream(1, 1).normal()
