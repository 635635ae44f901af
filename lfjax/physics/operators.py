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


def euler_zyz(rotation: np.ndarray) -> tuple[float, float, float]:
    """Returns Euler angles (alpha, beta, gamma) in radians with R = Rz(alpha) Ry(beta) Rz(gamma).

    Args:
      rotation: a proper rotation matrix, shape (3, 3) (det +1).
    """
    r = np.asarray(rotation, dtype=np.float64)
    beta = float(np.arccos(np.clip(r[2, 2], -1.0, 1.0)))
    if np.hypot(r[0, 2], r[1, 2]) > 1e-12:
        return float(np.arctan2(r[1, 2], r[0, 2])), beta, float(np.arctan2(r[2, 1], -r[2, 0]))
    if r[2, 2] > 0:  # beta = 0: only alpha + gamma is defined
        return float(np.arctan2(r[1, 0], r[0, 0])), 0.0, 0.0
    return float(np.arctan2(-r[1, 0], -r[0, 0])), np.pi, 0.0  # beta = pi: only alpha - gamma


def rotation_unitary(j: float, rotation: np.ndarray) -> np.ndarray:
    """Returns U(R) = exp(-i alpha Jz) exp(-i beta Jy) exp(-i gamma Jz), complex128 (2J+1, 2J+1).

    The active rotation of the |J, m> states by R (3 x 3, det +1): U (J . b) U^dagger = J . (R b),
    so H' = U H U^dagger is the ligand field turned by R, and M along b for H' equals M along
    R^T b for H.
    """
    alpha, beta, gamma = euler_zyz(rotation)
    _, jy, jz = spin_matrices(j)
    m = np.diag(jz).real
    vals, vecs = np.linalg.eigh(jy)
    d_beta = (vecs * np.exp(-1j * beta * vals)) @ vecs.conj().T
    return np.exp(-1j * alpha * m)[:, None] * d_beta * np.exp(-1j * gamma * m)[None, :]


@functools.lru_cache(maxsize=None)
def _gram(j: float, names: tuple[str, ...]) -> np.ndarray:
    ops = operator_stack(j, names)
    return np.einsum("aij,bji->ab", ops, ops).real


def rotated_stevens_matrix(rotation: np.ndarray, names: tuple[str, ...] = STEVENS_NAMES, j: float = 6.0) -> np.ndarray:
    """Wigner rotation of Stevens operators: W (n, n) with U O_s U^dagger = sum_t W[t, s] O_t.

    Computed numerically: the operators are rotated with `rotation_unitary` on a multiplet J
    (default 6, which represents every k <= 6 faithfully; the result does not depend on J as
    long as 2J >= max k) and re-expanded by trace inner products (Stevens operators of
    different (k, q) are trace-orthogonal). A parameter vector s (H = sum_s s_s O_s) turned by
    R becomes W s. `names` must be closed under rotation (all q for each k used), else the
    re-expansion is incomplete and a ValueError says so.

    Args:
      rotation: proper rotation matrix (3, 3).
      names: Stevens names (default: all 27, `STEVENS_NAMES`).
      j: multiplet used for the numerics (2J >= every k in names).
    """
    ops = operator_stack(j, tuple(names))
    u = rotation_unitary(j, rotation)
    rotated = u @ ops @ u.conj().T  # (n, N, N)
    overlaps = np.einsum("tij,sji->ts", ops, rotated).real
    w = np.linalg.solve(_gram(j, tuple(names)), overlaps)
    residual = rotated - np.einsum("ts,tij->sij", w, ops)
    scale = np.linalg.norm(ops.reshape(len(names), -1), axis=1)
    if np.max(np.linalg.norm(residual.reshape(len(names), -1), axis=1) / scale) > 1e-9:
        raise ValueError(f"the operators {names} are not closed under rotation; include every q of each k")
    return w
