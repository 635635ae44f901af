"""Augmentation study: error against sigma_dia of the diamagnetic augmentation (docs/method.md findings).

    python benchmarks/augmentation_study.py --workdir-root runs/aug --steps 3000 --out runs/augmentation_study
    python benchmarks/augmentation_study.py --quick --out /tmp/aug_quick       # tiny models, seconds

Four models, configs/aug_0.toml, aug_0005.toml, aug_002.toml, aug_005.toml (the default config
with sigma_dia = 0, 0.0005, 0.002, 0.005 emu/mol), live in WORKDIR_ROOT/aug_<tag>. A missing one
is trained (library `train_and_evaluate`) for --steps steps unless --no-train; existing ones are
reused. --quick trains tiny models (configs/tiny.toml with the same sigma_dia) for a few steps.

Outputs in --out: augmentation.json (settings, per-model rows), augmentation.md (the tables),
figures/<model>_<curve>_{vae,inn}.png (D-E diagrams, `plotting.posterior.de_density_figure`), and
vae_grid.png / inn_grid.png (all models x named curves).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

REPO = Path(__file__).resolve().parents[1]
#: tag -> sigma_dia (emu/mol). "0" is 1e-6 in configs/aug_0.toml (an exact 0 has no spread to standardise).
SIGMAS = {"0": 0.0, "0005": 0.0005, "002": 0.002, "005": 0.005}


def _config(tag: str, quick: bool, steps: int | None):
    from lfjax.training import config as cfg_lib

    if quick:
        sigma = max(SIGMAS[tag], 1e-6)
        overrides = [f"data.sigma_dia_emu_per_mol={sigma}", "data.norm_curves=2000", f"train.steps={steps or 30}",
                     "train.log_every=10", "train.checkpoint_every=1000"]
        return cfg_lib.load(REPO / "configs" / "tiny.toml", overrides)
    return cfg_lib.load(REPO / "configs" / f"aug_{tag}.toml", [f"train.steps={steps}"] if steps else [])


def _ensure_model(tag: str, root: Path, quick: bool, steps: int | None, train: bool, log):
    from lfjax.models.trained import load_model
    from lfjax.training.train import train_and_evaluate

    workdir = root / f"aug_{tag}"
    has_ckpt = (workdir / "checkpoints").is_dir() and any((workdir / "checkpoints").iterdir())
    if not has_ckpt:
        if not train:
            raise FileNotFoundError(f"no checkpoint in {workdir}; train it (drop --no-train) or pass --workdir-root")
        cfg = _config(tag, quick, steps)
        log(f"training aug_{tag} for {cfg.train.steps} steps in {workdir}")
        t0 = time.perf_counter()
        train_and_evaluate(cfg, workdir)
        log(f"  trained in {time.perf_counter() - t0:.0f} s")
    return load_model(workdir)


def _table(rows: list[dict]) -> str:
    lines = ["### Named curves (top mode of the 400 latent neighbours = VAE, of 1000 posterior draws = VAE–INN)", "",
             "| σ_dia (emu/mol) | steps | curve | VAE abs dD / dE (K) | VAE–INN abs dD / dE (K) | VAE–INN modes | HPD rank | OOD |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for c in r["named"]:
            lines.append(f"| {r['sigma_dia']:g} | {r['steps']} | {c['curve']} | {c['vae_abs_dD_K']:.2f} / {c['vae_abs_dE_K']:.2f} | "
                         f"{c['inn_abs_dD_K']:.2f} / {c['inn_abs_dE_K']:.2f} | {c['inn_n_modes']} | {c['inn_hpd_rank']:.2f} | "
                         f"{'yes' if c['ood_flagged'] else 'no'} |")
    n = rows[0]["random"]["n"] if rows else 0
    lines += ["", f"### {n} random curves from the default prior (σ_dia = 0.002 emu/mol, σ_m = 0.02, 0.3 % noise)", "",
              "| σ_dia (emu/mol) | hit rate | median abs dD (K) | median abs dE (K) | coverage 50 % | coverage 90 % | OOD rate |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        x = r["random"]
        lines.append(f"| {r['sigma_dia']:g} | {x['hit_rate']:.2f} | {x['median_abs_dD_K']:.2f} | {x['median_abs_dE_K']:.2f} | "
                     f"{x['coverage_50']:.2f} | {x['coverage_90']:.2f} | {x['ood_rate']:.2f} |")
    return "\n".join(lines) + "\n"


def main(
    workdir_root: Annotated[Optional[Path], typer.Option(help="Folder of the aug_<tag> run folders.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/augmentation_study"),
    steps: Annotated[Optional[int], typer.Option(help="Training steps of models trained here (default: config).")] = None,
    no_train: Annotated[bool, typer.Option("--no-train", help="Only reuse existing models.")] = False,
    n_random: Annotated[int, typer.Option(help="Random prior curves.")] = 200,
    samples: Annotated[int, typer.Option(help="Posterior draws per curve.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the random curves and the draws.")] = 0,
    quick: Annotated[bool, typer.Option(help="Tiny models, few curves: checks that everything runs.")] = False,
) -> None:
    """Train or reuse the four sigma_dia models and evaluate them on named and random curves."""
    import matplotlib.image as mpimg
    import numpy as np

    from lfjax.evaluation import augmentation as aug
    from lfjax.io.atomic import save_figure, write_text
    from lfjax.plotting.evaluation import image_grid_figure
    from lfjax.plotting.posterior import de_density_figure
    from lfjax.symmetry import de_group, images

    log = lambda s: typer.echo(s, err=True)
    root = workdir_root or (out / "models" if quick else REPO / "runs" / "aug")
    if quick:
        n_random, samples = min(n_random, 10), min(samples, 200)
    figs = out / "figures"
    rows, grid = [], {"vae": [], "inn": []}
    for tag, sigma in SIGMAS.items():
        model = _ensure_model(tag, root, quick, steps, not no_train, log)
        cfg = model.config
        trained_steps = int(Path(model.source).name)  # the checkpoint's step folder
        log(f"evaluating aug_{tag} (sigma_dia {cfg.data.sigma_dia_emu_per_mol:g}, {trained_steps} steps)")
        named = []
        for name in aug.NAMED_CURVES:
            res = aug.study_named(model, name, n_samples=samples, seed=seed)
            named.append(res.row)
            crosses = images(de_group(), np.asarray(aug.NAMED_CURVES[name][:2], np.float64))
            for kind, pts, what in (("vae", res.neighbours_de, "400 latent neighbours"),
                                    ("inn", res.samples_de, f"{samples} posterior draws")):
                fig = de_density_figure(pts, crosses, f"σ_dia = {sigma:g}: {name}, {what}", cfg.data.d_max_k,
                                         cross_label="six equivalents of the truth")
                path = figs / f"aug_{tag}_{name}_{kind}.png"
                save_figure(fig, path, dpi=80)
                grid[kind].append(path)
        curves = aug.common_random_curves(n_random, seed, cfg.data)
        rows.append({"tag": tag, "sigma_dia": sigma, "config_sigma_dia": cfg.data.sigma_dia_emu_per_mol,
                     "steps": trained_steps, "model": str(model.source), "named": named,
                     "random": aug.study_random(model, curves, n_samples=samples, seed=seed)})
    record = {"quick": quick, "n_random": n_random, "samples": samples, "seed": seed,
              "named_curves": {k: dict(zip(("D_K", "E_K", "chi_dia", "f_m"), v)) for k, v in aug.NAMED_CURVES.items()},
              "rows": rows}
    write_text(out / "augmentation.json", json.dumps(record, indent=2) + "\n")
    write_text(out / "augmentation.md", _table(rows))
    n_named = len(aug.NAMED_CURVES)
    for kind, label in (("vae", "VAE plots (400 latent neighbours)"), ("inn", "VAE–INN plots (posterior draws)")):
        images = [[mpimg.imread(p) for p in grid[kind][i::n_named]] for i in range(n_named)]
        fig = image_grid_figure(images, list(aug.NAMED_CURVES), [f"σ_dia = {s:g}" for s in SIGMAS.values()], label)
        save_figure(fig, out / f"{kind}_grid.png", dpi=110)
    log(f"wrote augmentation.json, augmentation.md, vae_grid.png, inn_grid.png and figures/ to {out}")
    typer.echo(_table(rows))


if __name__ == "__main__":
    typer.run(main)
