"""Ordering barrier between eigensolver calls: values, derivatives and batching pass through."""

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.physics._serial import after


def _two_eigh(a, b):
    wa = jnp.linalg.eigvalsh(a)
    wb = jnp.linalg.eigvalsh(after(b, wa))  # b's solver waits for a's
    return jnp.sum(wa**2) + jnp.sum(wb**3)


def test_after_changes_nothing_but_the_order():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4)); a = jnp.asarray(a + a.T)
    b = rng.normal(size=(4, 4)); b = jnp.asarray(b + b.T)
    plain = lambda a, b: jnp.sum(jnp.linalg.eigvalsh(a) ** 2) + jnp.sum(jnp.linalg.eigvalsh(b) ** 3)  # noqa: E731
    np.testing.assert_allclose(jax.jit(_two_eigh)(a, b), plain(a, b), rtol=1e-6)
    for ga, gb in zip(jax.grad(_two_eigh, (0, 1))(a, b), jax.grad(plain, (0, 1))(a, b)):
        np.testing.assert_allclose(ga, gb, rtol=1e-5, atol=1e-6)
    batch = jnp.stack([a, 2 * a]), jnp.stack([b, b])
    np.testing.assert_allclose(jax.vmap(_two_eigh)(*batch), jax.vmap(plain)(*batch), rtol=1e-6)
    assert after(a) is a
    # in the compiled function b's solver input is computed from a's eigenvalues
    hlo = jax.jit(_two_eigh).lower(a, b).compile().as_text()
    calls = [line for line in hlo.splitlines() if "custom-call(" in line and "lapack" in line]
    assert len(calls) == 2
    second_input = calls[1].split("custom-call(")[1].split(")")[0]
    producer = next(line for line in hlo.splitlines() if line.strip().startswith(second_input + " ="))
    first_name = calls[0].split("=")[0].strip()
    feeds = [line for line in hlo.splitlines() if first_name.replace("%", "") in line]
    assert len(feeds) >= 2 and "fusion(" in producer and producer.count("%") >= 3
