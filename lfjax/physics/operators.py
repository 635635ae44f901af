"""Angular-momentum and Stevens operators as numpy matrices (float64 / complex128).

Basis: |J, m> with m = J, J-1, ..., -J (index 0 is m = J). The Stevens operators O_k^q
follow Hutchings (Solid State Physics 16, 227 (1964)) as McPhase and PyCrystalField use
them: with X = J(J+1), c_q = (J+^q + J-^q)/2 and s_q = (J+^q - J-^q)/(2i),
O_k^q = [f_kq(Jz) c_q + c_q f_kq(Jz)]/2 for q > 0, O_k^-q likewise with s_q, and O_k^0 a
polynomial in Jz. Operators are built once per J (cached) and are constants, not parameters.
"""

from __future__ import annotations

import functools
import re

import numpy as np

#: Every Stevens parameter name lfjax knows, in a fixed order: B20, B21, B2-1, B22, ...
STEVENS_NAMES: tuple[str, ...] = tuple(
    f"B{k}{q}" if q >= 0 else f"B{k}-{-q}"
    for k in (2, 4, 6)
    for q in [0] + [s * a for a in range(1, k + 1) for s in (1, -1)]
)
_NAME_RE = re.compile(r"^B([246])(-?)(\d)$")


def parse_stevens_name(name: str) -> tuple[int, int]:
    """Returns (k, q) for a name such as "B20", "B4-3" or "B66".

    Raises:
      ValueError: the name is not a Stevens parameter with k in {2, 4, 6}, |q| <= k.
    """
    match = _NAME_RE.match(name)
    if match:
        k, q = int(match.group(1)), int(match.group(3))
        if q <= k:
            return k, -q if match.group(2) else q
    raise ValueError(f"unknown Stevens parameter {name!r}; expected Bkq with k in 2, 4, 6 and |q| <= k, "
                     "negative q written Bk-q (e.g. B20, B22, B4-3, B66)")


@functools.lru_cache(maxsize=None)
def spin_matrices(j: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (Jx, Jy, Jz) as complex128 (2J+1, 2J+1) matrices in the |m> basis (m descending)."""
    m = j - np.arange(int(round(2 * j)) + 1)
    jz = np.diag(m).astype(np.complex128)
    # <m+1| J+ |m> = sqrt(J(J+1) - m(m+1)); index of m+1 is one less than that of m.
    jp = np.diag(np.sqrt(j * (j + 1) - m[1:] * (m[1:] + 1)), k=1).astype(np.complex128)
    jm = jp.conj().T
    return (jp + jm) / 2, (jp - jm) / 2j, jz


def _poly(jz: np.ndarray, coeffs: list[float]) -> np.ndarray:
    """sum_n coeffs[n] Jz^n for a diagonal Jz."""
    out = np.zeros_like(jz)
    power = np.eye(jz.shape[0], dtype=jz.dtype)
    for c in coeffs:
        out = out + c * power
        power = power @ jz
    return out


def _f_kq(k: int, q: int, x: float) -> list[float]:
    """Coefficients (ascending powers of Jz) of the Hutchings polynomial f_kq for q >= 0."""
    table = {
        (2, 0): [-x, 0, 3],
        (2, 1): [0, 1],
        (2, 2): [1],
        (4, 0): [3 * x * x - 6 * x, 0, -(30 * x - 25), 0, 35],
        (4, 1): [0, -(3 * x + 1), 0, 7],
        (4, 2): [-x - 5, 0, 7],
        (4, 3): [0, 1],
        (4, 4): [1],
        (6, 0): [-5 * x**3 + 40 * x * x - 60 * x, 0, 105 * x * x - 525 * x + 294, 0, -(315 * x - 735), 0, 231],
        (6, 1): [0, 5 * x * x - 10 * x + 12, 0, -(30 * x - 15), 0, 33],
        (6, 2): [x * x + 10 * x + 102, 0, -(18 * x + 123), 0, 33],
        (6, 3): [0, -(3 * x + 59), 0, 11],
        (6, 4): [-x - 38, 0, 11],
        (6, 5): [0, 1],
        (6, 6): [1],
    }
    return table[(k, q)]


@functools.lru_cache(maxsize=None)
def stevens_operator(j: float, k: int, q: int) -> np.ndarray:
    """Returns O_k^q(J) as a complex128 Hermitian matrix (real for q >= 0, imaginary for q < 0)."""
    if k not in (2, 4, 6) or abs(q) > k:
        raise ValueError(f"k must be 2, 4 or 6 and |q| <= k; got k={k}, q={q}")
    jx, jy, jz = spin_matrices(j)
    x = j * (j + 1)
    f = _poly(jz, _f_kq(k, abs(q), x))
    if q == 0:
        return f
    jp = jx + 1j * jy
    jm = jx - 1j * jy
    jpq = np.linalg.matrix_power(jp, abs(q))
    jmq = np.linalg.matrix_power(jm, abs(q))
    ladder = (jpq + jmq) / 2 if q > 0 else (jpq - jmq) / 2j
    op = (f @ ladder + ladder @ f) / 2
    return (op + op.conj().T) / 2  # exact Hermitian symmetry against round-off


@functools.lru_cache(maxsize=None)
def operator_stack(j: float, names: tuple[str, ...]) -> np.ndarray:
    """Returns the (len(names), 2J+1, 2J+1) complex128 stack of Stevens operators for `names`."""
    return np.stack([stevens_operator(j, *parse_stevens_name(n)) for n in names])
