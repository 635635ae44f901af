"""Training: the loss falls, one compile, exact resume after Ctrl-C, clear checkpoint errors, sharding."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.errors import UserInputError
from lfjax.models.posterior import build
from lfjax.training import checkpoint as ckpt
from lfjax.training import config as cfg_lib
from lfjax.training.interrupt import StopRequest
from lfjax.training.train import init_params, make_optimizer, make_train_step, train_and_evaluate

REPO = Path(__file__).resolve().parents[2]


def _metrics(workdir):
    return [json.loads(line) for line in (Path(workdir) / "metrics.jsonl").read_text().splitlines()]


def test_tiny_training_loss_falls(tiny_run):
    workdir, result = tiny_run
    rows = _metrics(workdir)
    assert [r["step"] for r in rows] == [50, 100, 150, 200, 250, 300]
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.0
    assert rows[-1]["nll"] < rows[0]["nll"] - 1.0
    assert result["step"] == 300 and not result["interrupted"]
    assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()) == [200, 300]  # keep last 2
    assert cfg_lib.load(workdir / "config.toml") == cfg_lib.load(REPO / "configs" / "tiny.toml")


def test_train_step_compiles_once(tiny_config, tiny_norm):
    net = build(tiny_config.model, tiny_config.data.n_temps)
    tx = make_optimizer(tiny_config)
    params = init_params(tiny_config, net, jax.random.key(0))
    opt_state = tx.init(params)
    step_fn = make_train_step(tiny_config, net, tiny_norm, tx)
    for step in range(4):
        params, opt_state, metrics = step_fn(params, opt_state, jnp.int32(step), jax.random.key(1))
    assert np.isfinite(float(metrics["loss"]))
    assert step_fn.n_traces[0] == 1


def _short(tiny_config, steps=12):
    return cfg_lib.replace(tiny_config, train={"steps": steps, "log_every": 2, "checkpoint_every": 4})


def test_interrupt_then_resume_reproduces_the_uninterrupted_run(tmp_path, tiny_config, tiny_norm):
    cfg = _short(tiny_config)
    full = train_and_evaluate(cfg, tmp_path / "full", norm=tiny_norm)

    def interrupt(metrics):  # a real SIGINT to this process, handled by the training loop
        if metrics["step"] == 6:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    part = train_and_evaluate(cfg, tmp_path / "part", norm=tiny_norm, on_log=interrupt)
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back
    assert part["interrupted"] and part["step"] == 6
    assert 6 in [int(p.name) for p in (tmp_path / "part" / "checkpoints").iterdir()]
    with pytest.raises(UserInputError, match="--resume"):
        train_and_evaluate(cfg, tmp_path / "part", norm=tiny_norm)
    resumed = train_and_evaluate(cfg, tmp_path / "part", resume=True)
    assert resumed["step"] == 12
    for a, b in zip(jax.tree.leaves(full["params"]), jax.tree.leaves(resumed["params"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # A stop requested before the first step (Ctrl-C during setup or the first compile) saves step 0.
    with StopRequest() as stop:
        stop.request()
        early = train_and_evaluate(cfg, tmp_path / "early", norm=tiny_norm, stop=stop)
    assert early["interrupted"] and early["step"] == 0
    assert [p.name for p in ckpt.step_dirs(tmp_path / "early" / "checkpoints")] == ["0"]
    resumed = train_and_evaluate(cfg, tmp_path / "early", resume=True)
    for a, b in zip(jax.tree.leaves(full["params"]), jax.tree.leaves(resumed["params"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [r["loss"] for r in _metrics(tmp_path / "full")] == [r["loss"] for r in _metrics(tmp_path / "part")]


def test_resume_with_a_different_model_is_a_clear_error(tmp_path, tiny_config, tiny_norm):
    cfg = _short(tiny_config, steps=4)
    train_and_evaluate(cfg, tmp_path, norm=tiny_norm)
    other = cfg_lib.replace(cfg, model={"flow_layers": 3})
    with pytest.raises(ckpt.CheckpointError, match=r"model.flow_layers = 2, but the config has 3"):
        train_and_evaluate(other, tmp_path, resume=True)


def test_corrupted_checkpoint_gives_a_one_line_error(tmp_path, tiny_config, tiny_norm):
    cfg = _short(tiny_config, steps=4)
    train_and_evaluate(cfg, tmp_path, norm=tiny_norm)
    step_dir = tmp_path / "checkpoints" / "4"
    for file in (step_dir / "params").rglob("*"):
        if file.is_file() and file.stat().st_size > 0 and "manifest" not in file.name:
            file.write_bytes(b"\x00garbage" * 4)
    with pytest.raises(ckpt.CheckpointError) as info:
        train_and_evaluate(cfg, tmp_path, resume=True)
    message = str(info.value)
    assert "\n" not in message and "expected" in message and str(step_dir) in message
    (step_dir / "meta" / "metadata").write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="no readable metadata.*delete this step folder"):
        train_and_evaluate(cfg, tmp_path, resume=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint found"):
        ckpt.find_step_dir(tmp_path / "empty")


_LOSSES_SCRIPT = """
import json, sys, jax
from lfjax.training import config as cfg_lib
from lfjax.training.train import train_and_evaluate
cfg = cfg_lib.load(sys.argv[1], ["train.steps=6", "train.log_every=1", "data.norm_curves=2000"])
train_and_evaluate(cfg, sys.argv[2])
print(json.dumps({"devices": jax.device_count()}))
"""


def test_two_devices_give_the_same_losses_as_one(tmp_path):
    losses = {}
    for n in (1, 2):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}", JAX_PLATFORMS="cpu")
        out = subprocess.run(
            [sys.executable, "-c", _LOSSES_SCRIPT, str(REPO / "configs" / "tiny.toml"), str(tmp_path / str(n))],
            env=env, capture_output=True, text=True, check=True,
        )
        assert json.loads(out.stdout.strip().splitlines()[-1])["devices"] == n
        losses[n] = [r["loss"] for r in _metrics(tmp_path / str(n))]
    assert len(losses[1]) == 6
    np.testing.assert_allclose(losses[2], losses[1], rtol=2e-5, atol=2e-5)


def test_leftover_orbax_temporaries_are_removed(tmp_path):
    leftover = tmp_path / "checkpoints" / "4.orbax-checkpoint-tmp-1234"
    (leftover / "params").mkdir(parents=True)  # as left by a process killed mid-write
    (tmp_path / "checkpoints" / "2" / "meta").mkdir(parents=True)
    saver = ckpt.Checkpointer(tmp_path)
    saver.close()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["2"]
