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


def test_paired_normals_match_the_twin_and_look_normal():
    # the price model's normals (polar method, both of each pair used): kernel == twin bit for bit
    for seed, path in ((0, 0), (7, 3), (2**62, 10**9)):
        s = np.empty(1, np.uint64)
        s[0] = rng.path_state(seed, path)
        spare = np.zeros(2)
        py = rng.PyStream(seed, path)
        mixed_k, mixed_p = [], []
        for i in range(200):   # uniforms drawn between normals (the jump test) keep both in step
            mixed_k.append(rng.gauss(s, spare) if i % 3 else rng.uniform(s))
            mixed_p.append(py.gauss() if i % 3 else py.uniform())
        assert mixed_k == mixed_p
    py = rng.PyStream(5, 1)
    z = np.array([py.gauss() for _ in range(40000)])
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs(np.mean(z**4) - 3.0) < 0.15                     # normal kurtosis
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 0.02    # the two of a pair are uncorrelated
    assert abs(np.mean(z < -1.959964) - 0.025) < 0.004         # a tail probability
