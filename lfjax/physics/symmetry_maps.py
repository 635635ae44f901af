"""Symmetry of the likelihood: the linear maps of a parameter vector that leave powder data unchanged.

Turning the ligand field by a rotation R (H -> U(R) H U(R)^dagger) changes M along a field
direction b into M along R^T b, so every powder average is unchanged, whatever R. On the
Stevens parameters the turn is linear, s -> W(R) s, block diagonal in k (the Wigner D-matrix
of rank k, computed numerically by `operators.rotated_stevens_matrix`). A model with free
parameters theta and Stevens values s = A theta (`presets.Preset`) is mapped into itself by R
when W(R) A theta stays in the range of A; the induced map on theta is pinv(A) W(R) A.

Here the rotations are FOUND, not written by hand: the candidates are the 24 rotations of the
cube (octahedral group O, axes x, y, z) combined with turns about z by multiples of 15 degrees
(576 rotations, holding the hexagonal group D6, D8 and D12 as well); a candidate is kept when
its residual outside the model's subspace is below 1e-9 (in a trace-normalised operator
basis), the kept rotations are closed into a group and their induced maps deduplicated, the
identity first. This contains the normaliser of each preset's point group: six axis
permutations for (D, E) and D2h, a 60 degree turn about z for D3d (B43, B63 -> -B43, -B63),
30 degrees for D3h (B66 -> -B66), 45 degrees for D4h (B44, B64 -> -B44, -B64), none besides
the identity for axial and cubic.

Inversion and time reversal act trivially: Stevens operators (even k) are even under both,
and M(-b) along -b equals M(b) along b, so they add no map. A subspace that every rotation
maps into itself (the `general` model, or all q of some k) has a continuous symmetry, SO(3);
only the finite subgroup O (24 rotations) is then returned.

Single-crystal data keep only rotations that fix each measured direction up to sign
(`directions=`): e.g. "z" keeps the turns about z and the twofold axes perpendicular to z.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np

from lfjax.errors import ParameterError
from lfjax.physics.ions import Ion
from lfjax.physics.operators import STEVENS_NAMES, operator_stack, rotated_stevens_matrix
from lfjax.physics.presets import Preset, resolve

_TOL = 1e-9
_MAX_GROUP = 2000
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def _rz(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@functools.lru_cache(maxsize=1)
def octahedral_rotations() -> np.ndarray:
    """The 24 rotations of a cube with faces normal to x, y, z (signed permutations, det +1), (24, 3, 3)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            r = np.zeros((3, 3))
            r[np.arange(3), perm] = signs
            if np.linalg.det(r) > 0:
                out.append(r)
    out.sort(key=lambda r: (not np.allclose(r, np.eye(3)), tuple(-np.round(r.ravel(), 6))))
    return np.stack(out)


@functools.lru_cache(maxsize=1)
def candidate_rotations() -> np.ndarray:
    """Rz(k 15 deg) g for k = 0..23 and g in O, deduplicated, identity first, (n, 3, 3)."""
    cands = [_rz(k * np.pi / 12) @ g for g in octahedral_rotations() for k in range(24)]
    return _dedupe(cands)


def _dedupe(mats) -> np.ndarray:
    kept: list[np.ndarray] = []
    keys: set = set()
    for m in mats:
        key = tuple(np.round(np.asarray(m).ravel(), 7) + 0.0)
        if key not in keys:
            keys.add(key)
            kept.append(np.asarray(m))
    return np.stack(kept)


@functools.cache
def _wigner_normalised(rotation_key: tuple[float, ...]) -> np.ndarray:
    """W(R) in the basis O_s / ||O_s|| (orthogonal 27 x 27); ||.|| the Frobenius norm at J = 6."""
    w = rotated_stevens_matrix(np.asarray(rotation_key).reshape(3, 3))
    norms = _norms()
    return norms[:, None] * w / norms[None, :]


@functools.lru_cache(maxsize=1)
def _norms() -> np.ndarray:
    ops = operator_stack(6.0, STEVENS_NAMES)
    return np.linalg.norm(ops.reshape(len(STEVENS_NAMES), -1), axis=1)


def _subspace(spec: Preset) -> np.ndarray:
    """A in the normalised 27-term basis, (27, n)."""
    full = np.zeros((len(STEVENS_NAMES), len(spec.names)))
    rows = [STEVENS_NAMES.index(s) for s in spec.stevens_names]
    full[rows] = spec.array
    return _norms()[:, None] * full


def _keeps(w: np.ndarray, a: np.ndarray, proj: np.ndarray) -> bool:
    image = w @ a
    return float(np.linalg.norm(image - proj @ image)) <= _TOL * float(np.linalg.norm(image))


def _close(rotations: list[np.ndarray]) -> list[np.ndarray]:
    group = list(_dedupe(rotations))
    keys = {tuple(np.round(g.ravel(), 7) + 0.0) for g in group}
    frontier = list(group)
    while frontier:
        new = []
        for a in frontier:
            for b in list(group):
                for c in (a @ b, b @ a):
                    key = tuple(np.round(c.ravel(), 7) + 0.0)
                    if key not in keys:
                        keys.add(key)
                        new.append(c)
        group.extend(new)
        frontier = new
        if len(group) > _MAX_GROUP:
            raise RuntimeError(f"rotation group exceeded {_MAX_GROUP} elements; the subspace has a continuous symmetry")
    return group


def _direction_vectors(directions) -> np.ndarray:
    out = []
    for d in directions:
        if isinstance(d, str):
            if d.strip().lower() not in _AXES:
                raise ParameterError(f"unknown direction {d!r}; expected x, y, z or a 3-vector")
            vec = np.asarray(_AXES[d.strip().lower()])
        else:
            vec = np.asarray(d, dtype=np.float64).reshape(-1)
            if vec.shape != (3,) or not np.isfinite(vec).all() or np.linalg.norm(vec) == 0:
                raise ParameterError(f"a direction must be a non-zero 3-vector; got {d!r}")
        out.append(vec / np.linalg.norm(vec))
    return np.stack(out) if out else np.zeros((0, 3))


@functools.cache
def _group(spec: Preset) -> tuple[np.ndarray, np.ndarray]:
    """(maps (n_maps, n, n), rotations (n_maps, r, 3, 3) as a list per map) for a resolved model."""
    a = _subspace(spec)
    proj = a @ np.linalg.pinv(a)
    pinv = np.linalg.pinv(a)
    rng = np.random.default_rng(0)
    generic = [np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(2)]
    generic = [g * np.sign(np.linalg.det(g)) for g in generic]
    if all(_keeps(_wigner_normalised(tuple(g.ravel())), a, proj) for g in generic):
        rotations = list(octahedral_rotations())  # continuous symmetry: the finite subgroup O
    else:
        kept = [r for r in candidate_rotations() if _keeps(_wigner_normalised(tuple(r.ravel())), a, proj)]
        rotations = _close(kept)
    maps, owners, keys = [], [], {}
    for r in rotations:
        m = pinv @ _wigner_normalised(tuple(np.round(r.ravel(), 15))) @ a
        key = tuple(np.round(m.ravel(), 7) + 0.0)
        if key not in keys:
            keys[key] = len(maps)
            maps.append(m)
            owners.append([])
        owners[keys[key]].append(r)
    maps = np.stack(maps)
    snapped = np.round(maps * 48) / 48 + 0.0  # exact rationals (0, 1/2, 3/2, ...) lose their round-off
    maps = np.where(np.abs(maps - snapped) < 1e-11, snapped, maps)
    return maps, tuple(np.stack(o) for o in owners)


def symmetry_group(
    names: str | Sequence[str] | Preset, ion: Ion | str | None = None, directions: Sequence | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Like `symmetry_maps`, also returning for each map the rotations (r, 3, 3) that induce it.

    A map M with rotation R satisfies: M along b for parameters M theta equals M along R^T b
    for theta (and the Hamiltonians are unitarily equivalent).
    """
    from lfjax.physics.ions import ion as make_ion

    spec = resolve(names, None if ion is None else make_ion(ion))
    if ion is not None and not isinstance(names, (Preset, str)) and spec.notes:  # presets drop such terms
        raise ParameterError(f"{'; '.join(spec.notes)}; remove those names for this ion")
    maps, owners = _group(spec)
    if directions is None or (isinstance(directions, str) and directions.strip().lower() == "powder"):
        return maps.copy(), owners
    if isinstance(directions, str):
        directions = [directions]
    vecs = _direction_vectors(directions)
    keep = []
    for i, rots in enumerate(owners):
        fixing = [r for r in rots if all(abs(abs(float(v @ r @ v)) - 1.0) < 1e-9 for v in vecs)]
        if fixing:
            keep.append((i, np.stack(fixing)))
    return maps[[i for i, _ in keep]], tuple(r for _, r in keep)


def symmetry_maps(
    names: str | Sequence[str] | Preset, ion: Ion | str | None = None, directions: Sequence | None = None
) -> np.ndarray:
    """The finite group of linear maps of the parameter vector that leave powder data unchanged.

    Args:
      names: parameter names in vector order (e.g. ("D", "E") or ("B20", "B40", "B43", ...)),
        a preset name (e.g. "D3d"; "cubic" brings its constraint), or a resolved `Preset`.
      ion: optional ion; explicit names with k > 2J are then refused (their operators vanish),
        a preset drops them (as `presets.preset` does).
      directions: None or "powder" for powder data; otherwise the measured field directions
        ("x", "y", "z" or 3-vectors in the ligand-field frame): only maps from rotations that
        fix every direction up to sign are kept (single-crystal data).

    Returns:
      float64 array (n_maps, n, n), identity first: theta -> maps[i] @ theta. Closed under
      composition. Six maps for ("D", "E") (the relabellings of `equivalents`).

    Raises:
      ParameterError: unknown names or preset, a bad direction, or names that vanish for the ion.
    """
    return symmetry_group(names, ion, directions)[0]
