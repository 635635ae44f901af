"""Reading a stored model: the step folder, its metadata and its parameters (orbax, read only).

Layout written by `lfjax train` (`training.checkpoint`): WORKDIR/checkpoints/<step>/ with
params/ (orbax StandardSave), meta/ (JSON: format tag, step, normalisation, resolved config) and,
in training checkpoints, opt_state/. Serving reads params/ and meta/ only, so it needs neither
the optimiser nor any training code. Anything unreadable raises `CheckpointError` in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from lfjax.errors import CheckpointError

FORMAT = "lfjax-train/1"


def step_dirs(base: str | Path) -> list[Path]:
    """The finished step folders (`<step>/`, digits only) in a checkpoints folder, by step."""
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted((p for p in base.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def find_step_dir(path: str | Path) -> Path:
    """The latest checkpoint step folder under a workdir, a checkpoints folder, or a step folder."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint path {path} does not exist; expected a train workdir or a checkpoint folder")
    if (path / "meta").is_dir() or (path / "params").is_dir():
        return path
    base = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    steps = step_dirs(base)
    if not steps:
        raise CheckpointError(
            f"no checkpoint found in {path}; expected a train workdir (with checkpoints/<step>/) "
            "or a checkpoint folder written by `lfjax train`; train first or check the path"
        )
    return steps[-1]


def read_meta(step_dir: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint step folder."""
    step_dir = Path(step_dir)
    file = step_dir / "meta" / "metadata"  # where orbax's JsonSave puts it
    try:
        meta = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if meta is not None:
        if isinstance(meta, dict) and meta.get("format") == FORMAT:
            return meta
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(
            f"{step_dir} has metadata of format {found!r}; expected {FORMAT!r} written by `lfjax train`; "
            "retrain or use a matching lfjax version"
        )
    raise CheckpointError(
        f"checkpoint {step_dir} has no readable metadata (meta/ missing or corrupted); expected a complete "
        "checkpoint written by `lfjax train`; delete this step folder to fall back to an earlier one, or retrain"
    )


def tree_shapes(tree) -> dict[str, tuple]:
    """Leaf path -> shape of a pytree (or `jax.eval_shape` result)."""
    return {jax.tree_util.keystr(p): tuple(np.shape(x)) for p, x in jax.tree_util.tree_leaves_with_path(tree)}


def restore_items(step_dir: str | Path, items: dict, params_like) -> dict:
    """Restores the orbax items of a step folder (`items`: name -> restore args, including
    "params"), with one-line errors for unreadable steps and parameters whose shapes differ from
    the template `params_like`."""
    step_dir = Path(step_dir).absolute()
    checkpointer = ocp.Checkpointer(ocp.CompositeCheckpointHandler())
    try:
        out = checkpointer.restore(step_dir, args=ocp.args.Composite(**items))
    except Exception as exc:  # orbax raises many types for bad files; report them in one line
        summary = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot restore {step_dir} ({type(exc).__name__}: {summary}); expected parameters of the shapes the "
            "config builds; check that the config matches the run (its config.toml) or delete the corrupted step"
        ) from None
    found, expected = tree_shapes(out["params"]), tree_shapes(params_like)
    if found != expected:
        diff = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))[:3]
        raise CheckpointError(
            f"checkpoint {step_dir} does not match the config: parameter {diff[0]} expected shape "
            f"{expected.get(diff[0])}, found {found.get(diff[0])}; use the config the run was trained with"
        )
    return out


def restore_params(step_dir: str | Path, params_like):
    """The network parameters of a step folder, checked against the template `params_like`."""
    return restore_items(step_dir, {"params": ocp.args.StandardRestore(params_like)}, params_like)["params"]
