"""Training on the fly: every step simulates a fresh batch inside one jitted function.

Step (one `jax.jit`): key = fold_in(data_key, step) -> prior draw -> simulated powder chi T
(float32) -> error model and point noise -> min-max normalisation -> losses -> AdamW update.
A resumed run therefore sees exactly the batches of an uninterrupted one.

Scheme: joint. One loss, one optimiser: loss = MSE_recon + kl_weight * KL + NLL_flow, where the
flow's context is [stop_gradient(latent mean), embedding(curve)]. Because of the stop-gradient,
the VAE parameters get gradients only from the VAE terms and the flow/embedding parameters only
from the NLL, so this equals training the two stages side by side, without a second phase to
schedule, checkpoint or resume; the flow simply tracks the latent as it settles (the embedding
carries what the latent has not learned yet). Staged training would spend part of the CPU budget
on a VAE whose latent the flow cannot use until it is frozen.

Target: with model.fold_canonical (default) the flow learns p(canonical theta | curve), theta with
the model parameters folded by the likelihood's group (`data.prior.fold_theta`; for DE the wedge
0 <= E <= |D|/3). Prior and likelihood are invariant under the group, so the full posterior is this
one mapped by a uniformly random map: the flow has one mode (or a tie pair) to learn instead of G,
and sampling restores the G images exactly. The flow's dimension is that of theta: the model's
parameters, chi_dia, f_m (and lambda with a mean field), each standardised by its prior spread.

Optimiser: gradient clipping by global norm, then AdamW with linear warm-up and cosine decay.
Data parallel: the batch axis is sharded over all devices (1-D mesh "batch"), parameters are
replicated; XLA inserts the gradient all-reduce.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lfjax.data.cut import network_input, point_mask
from lfjax.data.normalise import Normalisation, fit_normalisation
from lfjax.data.prior import fold_theta, theta_names
from lfjax.data.stream import make_batch
from lfjax.errors import ConfigError, UserInputError
from lfjax.io.atomic import write_text
from lfjax.models.posterior import VAEFlow, build
from lfjax.training import checkpoint as ckpt
from lfjax.training.config import Config, resolve, to_toml
from lfjax.training.interrupt import StopRequest


def make_schedule(config: Config) -> optax.Schedule:
    """Learning rate per step: linear warm-up to the peak, then cosine decay over config.train.steps."""
    t = config.train
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=t.learning_rate, warmup_steps=min(t.warmup_steps, max(t.steps - 1, 1)),
        decay_steps=max(t.steps, 2), end_value=t.learning_rate * t.final_lr_fraction,
    )


def make_optimizer(config: Config) -> optax.GradientTransformation:
    """Global-norm clipping, then AdamW on `make_schedule`."""
    t = config.train
    return optax.chain(
        optax.clip_by_global_norm(t.clip_norm), optax.adamw(make_schedule(config), weight_decay=t.weight_decay)
    )


def batch_mesh() -> Mesh:
    """A 1-D mesh named "batch" over all JAX devices."""
    return Mesh(np.array(jax.devices()), ("batch",))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _init(net: VAEFlow, n_points: int, n_theta: int, k_init, k_vae):
    return net.init(k_init, jnp.zeros((1, n_points)), jnp.zeros((1, n_theta)), key=k_vae)


def build_net(config: Config) -> VAEFlow:
    """The network of a config: curves of data.n_points (input data.n_inputs), flow dimension len(theta_names(data))."""
    return build(config.model, config.data.n_points, len(theta_names(config.data)))


def init_params(config: Config, net: VAEFlow, key):
    """Network parameters for the config (keys split from `key`); one compiled call, not op by op."""
    k_init, k_vae = jax.random.split(key)
    return _init(net, config.data.n_inputs, len(theta_names(config.data)), k_init, k_vae)


def make_train_step(config: Config, net: VAEFlow, norm: Normalisation, tx, mesh: Mesh | None = None) -> Callable:
    """The jitted step (params, opt_state, step, data_key) -> (params, opt_state, metrics).

    `step` is a traced int32 scalar, so the function compiles once for a run. The returned
    function has `.n_traces`, a one-element list counting Python traces (for tests).
    """
    data_cfg, batch_size = config.data, config.train.batch_size
    kl_weight, fold = config.model.kl_weight, config.model.fold_canonical
    # On one device the constraint is a no-op that still slows XLA:CPU down ~10x; skip it there.
    sharded = mesh is not None and mesh.devices.size > 1
    sharding = NamedSharding(mesh, PartitionSpec("batch")) if sharded else None
    n_traces = [0]

    def loss_fn(params, batch, key):
        t_cut = batch.get("t_cut_k")
        x = network_input(norm, data_cfg, batch["x"], t_cut)
        mask = None if t_cut is None else point_mask(data_cfg, t_cut)
        u = norm.standardise_theta(fold_theta(batch["theta"], data_cfg) if fold else batch["theta"])
        recon, kl, nll = net.apply(params, x, u, key=key, mask=mask)
        recon, kl, nll = jnp.mean(recon), jnp.mean(kl), jnp.mean(nll)
        return recon + kl_weight * kl + nll, {"recon": recon, "kl": kl, "nll": nll}

    def step_fn(params, opt_state, step, data_key):
        n_traces[0] += 1
        k_batch, k_vae = jax.random.split(jax.random.fold_in(data_key, step))
        batch = make_batch(k_batch, data_cfg, batch_size, norm=norm, sharding=sharding)
        if sharding is not None:
            batch = jax.lax.with_sharding_constraint(batch, sharding)
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch, k_vae)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics = dict(parts, loss=loss, grad_norm=optax.global_norm(grads))
        return params, opt_state, metrics

    jitted = jax.jit(step_fn, donate_argnums=(0, 1))
    jitted.n_traces = n_traces
    return jitted


def _read_metrics(path: Path, up_to_step: int) -> list[str]:
    if not path.is_file():
        return []
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= up_to_step:
                keep.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return keep


def train_and_evaluate(
    config: Config,
    workdir: str | Path,
    *,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    norm: Normalisation | None = None,
    stop: StopRequest | None = None,
) -> dict[str, Any]:
    """Trains (or resumes) a run in `workdir` up to config.train.steps total steps.

    Args:
      config: the resolved config.
      workdir: run folder (config.toml, metrics.jsonl, checkpoints/).
      resume: continue from the latest checkpoint in `workdir`.
      on_log: called with each metrics dict (for progress display).
      norm: a precomputed normalisation for config.data (default: fitted here; tests reuse one).
      stop: the Ctrl-C handler to honour (default: one installed for this call). While it is
        active, SIGINT only requests a stop: the loop finishes the running step (or setup and the
        first compile), saves that step synchronously and returns; nothing is cut mid-write.

    Returns:
      dict with "step", "params", "norm", "metrics" (last logged dict) and "interrupted"
      (True after Ctrl-C; a checkpoint of the reached step is written either way).
    """
    if stop is None:
        with StopRequest() as own:
            return train_and_evaluate(config, workdir, resume=resume, on_log=on_log, norm=norm, stop=own)
    workdir = Path(workdir)
    t = config.train
    if t.batch_size % jax.device_count():
        raise ConfigError(
            f"train.batch_size must be divisible by the {jax.device_count()} devices; got {t.batch_size}"
        )
    resolved = resolve(config)
    if workdir.exists() and not workdir.is_dir():
        raise UserInputError(f"--workdir {workdir} is a file; expected a run folder (new or from `lfjax train`)")
    has_ckpt = (workdir / "checkpoints").is_dir() and any(ckpt.step_dirs(workdir / "checkpoints"))
    if has_ckpt and not resume:
        raise UserInputError(
            f"{workdir} already holds checkpoints; pass --resume to continue or choose a new --workdir"
        )
    root = jax.random.key(t.seed)
    k_init, data_key = jax.random.split(root)
    net = build_net(config)
    tx, schedule = make_optimizer(config), make_schedule(config)
    params = init_params(config, net, k_init)
    opt_state = tx.init(params)
    start = 0
    if resume:
        step_dir = ckpt.find_step_dir(workdir)
        params_like, opt_like = jax.eval_shape(lambda: params), jax.eval_shape(lambda: opt_state)
        meta = ckpt.read_meta(step_dir)
        ckpt.check_compatible(meta, resolved, sections=("data", "model"))
        params, opt_state, meta = ckpt.restore(step_dir, params_like, opt_like)
        norm = Normalisation.from_dict(meta["normalisation"])
        start = int(meta["step"])
    elif norm is None:
        norm = fit_normalisation(config.data, config.model.fold_canonical)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create --workdir {workdir} ({exc.strerror}); choose a writable folder") from None
    write_text(workdir / "config.toml", to_toml(config))
    mesh = batch_mesh()
    replicated = NamedSharding(mesh, PartitionSpec())
    params, opt_state = jax.device_put((params, opt_state), replicated)
    step_fn = make_train_step(config, net, norm, tx, mesh)
    saver = ckpt.Checkpointer(workdir, keep=t.keep_checkpoints)
    meta_base = {
        "config": resolved, "normalisation": norm.to_dict(),
        "key_data": np.asarray(jax.random.key_data(root)).tolist(), "n_devices": jax.device_count(),
    }
    metrics_path = workdir / "metrics.jsonl"
    lines = _read_metrics(metrics_path, start)
    write_text(metrics_path, "".join(line + "\n" for line in lines))

    state = (params, opt_state, start)
    pending: list[dict] = []
    last: dict[str, Any] = {}
    t_log, n_log = time.perf_counter(), 0
    t_start = time.perf_counter()
    # Ctrl-C only sets `stop` (see lfjax.training.interrupt), so a step whose buffers are donated
    # always completes and `state` is always whole; the flag is read between steps.
    with metrics_path.open("a") as log_file:
        while state[2] < t.steps and not stop.requested:
            p, o, s = state
            p, o, m = step_fn(p, o, jnp.int32(s), data_key)
            state = (p, o, s + 1)
            pending.append(m)
            n_log += 1
            step = state[2]
            if step % t.log_every == 0 or step == t.steps:
                means = {k: float(np.mean([float(x[k]) for x in jax.device_get(pending)])) for k in pending[0]}
                now = time.perf_counter()
                last = dict(
                    step=step, **means, lr=float(schedule(step - 1)),
                    curves_per_s=n_log * t.batch_size / (now - t_log), elapsed_s=now - t_start,
                )
                log_file.write(json.dumps(last) + "\n")
                log_file.flush()
                pending, t_log, n_log = [], now, 0
                if on_log is not None:
                    on_log(last)
            if step % t.checkpoint_every == 0 and step < t.steps and not stop.requested:
                saver.save(step, state[0], state[1], meta_base)
    params, opt_state, step = state
    saver.save(step, params, opt_state, meta_base)  # synchronous; skipped if this step is saved
    saver.close()
    return {"step": step, "params": params, "norm": norm, "metrics": last, "interrupted": stop.requested}
