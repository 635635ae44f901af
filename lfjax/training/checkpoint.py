"""Orbax checkpoints of a training run: parameters, optimiser state, step, key, normalisation, config.

Layout: WORKDIR/checkpoints/<step>/ with three items,
  params/     network parameters (orbax StandardSave)
  opt_state/  optax state (omitted in inference-only copies such as the shipped default model)
  meta/       JSON: format tag, step, raw key data, normalisation, resolved config
and WORKDIR/config.toml, the resolved config of the run.

The read side (step folders, metadata, format tag) is `lfjax.models.stored`, shared with serving.
Anything unreadable or inconsistent raises `CheckpointError` (a ValueError) with one line that
says what was expected, what was found and what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp

from lfjax.errors import CheckpointError
from lfjax.models.stored import FORMAT as FORMAT
from lfjax.models.stored import find_step_dir as find_step_dir
from lfjax.models.stored import read_meta as read_meta
from lfjax.models.stored import restore_items
from lfjax.models.stored import step_dirs as step_dirs

#: Part of the name orbax gives a checkpoint folder while it is being written.
TMP_MARK = ".orbax-checkpoint-tmp"


def _manager(directory: Path, keep: int | None = None, read_only: bool = False) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=not read_only, read_only=read_only, enable_async_checkpointing=False
    )
    return ocp.CheckpointManager(directory.absolute(), options=options, item_names=("params", "opt_state", "meta"))


class Checkpointer:
    """Saves checkpoints of one run (keeps the last `keep`).

    Args:
      workdir: run folder; checkpoints go to workdir/checkpoints.
      keep: how many recent checkpoints to keep.
    """

    def __init__(self, workdir: str | Path, keep: int = 3):
        self.directory = Path(workdir) / "checkpoints"
        remove_temporaries(self.directory)  # left by a process killed mid-write (e.g. SIGKILL)
        self._mngr = _manager(self.directory, keep=keep)

    def save(self, step: int, params, opt_state, meta: dict[str, Any]) -> None:
        """Writes checkpoint `step` (blocking) unless one exists for that step."""
        if step in self._mngr.all_steps():
            return
        args = ocp.args.Composite(
            params=ocp.args.StandardSave(params),
            opt_state=ocp.args.StandardSave(opt_state),
            meta=ocp.args.JsonSave(dict(meta, format=FORMAT, step=int(step))),
        )
        self._mngr.save(step, args=args, force=True)
        self._mngr.wait_until_finished()

    @property
    def steps(self) -> list[int]:
        """The steps saved so far (ascending)."""
        return sorted(self._mngr.all_steps())

    def close(self) -> None:
        """Waits for any write, closes the manager and removes orbax's temporary folders."""
        self._mngr.wait_until_finished()
        self._mngr.close()
        remove_temporaries(self.directory)


def remove_temporaries(directory: str | Path) -> list[Path]:
    """Deletes orbax's unfinished `*.orbax-checkpoint-tmp*` folders in a checkpoints folder.

    Only this run's process writes there, so any such folder is a write that will never finish.
    Returns the removed paths.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = [p for p in directory.iterdir() if TMP_MARK in p.name]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def restore(step_dir: str | Path, params_like, opt_state_like=None) -> tuple[Any, Any, dict[str, Any]]:
    """Restores (params, opt_state or None, meta) from a step folder.

    Args:
      step_dir: a checkpoint step folder (see `find_step_dir`).
      params_like, opt_state_like: pytrees (or `jax.eval_shape` results) of the expected
        structure; opt_state_like=None skips the optimiser state.
    """
    step_dir = Path(step_dir).absolute()
    meta = read_meta(step_dir)
    items = {"params": ocp.args.StandardRestore(params_like)}
    if opt_state_like is not None:
        if not (step_dir / "opt_state").is_dir():
            raise CheckpointError(
                f"checkpoint {step_dir} holds no optimiser state (an inference-only copy); "
                "expected a full training checkpoint to resume; start a new run instead"
            )
        items["opt_state"] = ocp.args.StandardRestore(opt_state_like)
    out = restore_items(step_dir, items, params_like)
    return out["params"], out.get("opt_state"), meta


def check_compatible(meta: dict[str, Any], resolved: dict[str, dict[str, Any]], sections=("data", "model")) -> None:
    """Raises CheckpointError if the checkpoint's config differs from `resolved` in `sections`."""
    from lfjax.training.config import Config, resolve

    saved = meta.get("config", {})
    defaults = resolve(Config())
    for section in sections:
        for key, value in resolved[section].items():
            if key not in saved.get(section, {}) and value == defaults[section].get(key):
                continue  # a key newer than the checkpoint, at the default the run was trained with
            old = saved.get(section, {}).get(key)
            if old != value:
                raise CheckpointError(
                    f"checkpoint was trained with {section}.{key} = {old!r}, but the config has {value!r}; "
                    "resume with the run's own config (its config.toml) or start a new workdir"
                )


def export_for_serving(workdir: str | Path, dest: str | Path) -> Path:
    """Copies a run's latest checkpoint without optimiser state, with config.toml and metrics.jsonl.

    The result (dest/checkpoints/<step>/{params, meta}, dest/config.toml, dest/metrics.jsonl) is what
    `lfjax.models.trained.load_model` reads and what lfjax ships under lfjax/trained/<name>. An
    existing dest/checkpoints is replaced; other files in dest (e.g. evaluation results) are kept.

    Raises:
      CheckpointError: no finished checkpoint in `workdir`.
    """
    workdir, dest = Path(workdir), Path(dest)
    step_dir = find_step_dir(workdir)
    read_meta(step_dir)  # a complete checkpoint, or CheckpointError
    target = dest / "checkpoints" / step_dir.name
    if (dest / "checkpoints").exists():
        shutil.rmtree(dest / "checkpoints")
    shutil.copytree(step_dir, target, ignore=lambda folder, names: ["opt_state"] if Path(folder) == step_dir else [])
    for name in ("config.toml", "metrics.jsonl"):
        if (workdir / name).is_file():
            shutil.copy2(workdir / name, dest / name)
    return target
