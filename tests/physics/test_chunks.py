"""Memory-bounded chunked evaluation: same values as one call, chunks of equal size."""

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.physics._chunks import chunk_size, map_chunked


def test_chunk_size_respects_the_budget():
    assert chunk_size(100, 10.0, 250.0) == 25
    assert chunk_size(100, 10.0, 1e6) == 100
    assert chunk_size(100, 1e9, 10.0) == 1


def test_map_chunked_equals_one_call_and_pads_less_than_a_row_per_chunk():
    x = jnp.arange(130.0).reshape(65, 2)
    y = jnp.linspace(0.0, 1.0, 65)
    calls = []

    def fn(a, b):
        calls.append(a.shape[0])
        return jnp.sin(a) * b[:, None]

    # 65 rows at most 40 per chunk: two chunks of 33 (one padded row), not 40 + 40 (15 padded).
    out = map_chunked(fn, (x, y), bytes_per_item=10.0, budget_bytes=400.0)
    np.testing.assert_allclose(out, jnp.sin(x) * y[:, None], rtol=1e-6)
    assert out.shape == (65, 2)
    assert calls == [33]


def test_map_chunked_below_one_chunk_is_a_plain_call():
    x = jnp.ones((5, 3))
    out = jax.jit(lambda a: map_chunked(lambda b: 2.0 * b, (a,), 1.0, 100.0))(x)
    np.testing.assert_allclose(out, 2.0 * np.ones((5, 3)))
