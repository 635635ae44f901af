"""Training configuration: frozen dataclasses read from TOML, with dotted `key=value` overrides.

A config file has three tables, each optional (missing keys take the defaults below):

  [data]   the prior, error model and temperature grid (docs/physics.md defaults)
  [model]  network sizes and the KL weight
  [train]  optimiser, batch size, steps, logging and checkpointing

Unknown tables or keys are errors that name the valid ones. `resolve(config)` returns the
config as a plain dict (TOML-able); it is saved next to every checkpoint.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from lfjax.data.config import DataConfig
from lfjax.errors import ConfigError
from lfjax.models.config import ModelConfig as ModelConfig


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping.

    Attributes:
      steps: total optimisation steps.
      batch_size: curves per step (divisible by the number of devices).
      learning_rate: peak AdamW learning rate.
      warmup_steps: linear warm-up, then cosine decay to `final_lr_fraction` of the peak.
      final_lr_fraction: end value of the cosine decay relative to the peak.
      weight_decay: AdamW weight decay.
      clip_norm: global gradient-norm clip.
      seed: seed of the one key that parameters, data and the VAE noise are split from.
      log_every: steps between metrics lines.
      checkpoint_every: steps between checkpoints (one is also written at the end).
      keep_checkpoints: how many recent checkpoints to keep.
    """

    steps: int = 20_000
    batch_size: int = 512
    learning_rate: float = 1e-3
    warmup_steps: int = 500
    final_lr_fraction: float = 0.01
    weight_decay: float = 1e-4
    clip_norm: float = 1.0
    seed: int = 0
    log_every: int = 100
    checkpoint_every: int = 2000
    keep_checkpoints: int = 3


@dataclasses.dataclass(frozen=True)
class Config:
    """The whole training config."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _coerce(section: str, name: str, field: dataclasses.Field, value: Any) -> Any:
    default = field.default
    where = f"{section}.{name}"
    if isinstance(default, tuple):
        kind = str(field.type)
        if "str" in kind:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where} must be a list of strings; got {value!r}")
            return tuple(value)
        if "float" in kind:
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise ConfigError(f"{where} must be a list of numbers; got {value!r}")
            return tuple(float(v) for v in value)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{where} must be a list of integers; got {value!r}")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false; got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer; got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number; got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string; got {value!r}")
    return value


def from_dict(raw: dict[str, Any]) -> Config:
    """Builds a validated `Config` from nested dicts (as read from TOML)."""
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config table(s) {unknown}; valid tables: {sorted(_SECTIONS)}")
    parts = {}
    for section, cls in _SECTIONS.items():
        values = raw.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table; got {values!r}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        bad = sorted(set(values) - set(fields))
        if bad:
            raise ConfigError(f"unknown key(s) {bad} in [{section}]; valid keys: {sorted(fields)}")
        coerced = {k: _coerce(section, k, fields[k], v) for k, v in values.items()}
        try:
            parts[section] = cls(**coerced)
        except ConfigError:
            raise
        except ValueError as exc:  # a section's own range checks (e.g. DataConfig.__post_init__)
            raise ConfigError(f"[{section}]: {exc}") from None
    _check_model(parts["data"])
    return Config(**parts)


def _check_model(data: DataConfig) -> None:
    """The ion, preset / params and ranges of [data] must name a model (`data.prior.model_spec_of`)."""
    if data.is_de:
        return
    from lfjax.data.prior import model_spec_of
    from lfjax.errors import LfjaxError

    try:
        model_spec_of(data)
    except (LfjaxError, ValueError) as exc:
        raise ConfigError(f"[data] does not name a model (ion {data.ion!r}, preset {data.preset!r}, params "
                          f"{list(data.params)}): {exc}") from None


def _parse_value(text: str) -> Any:
    """A TOML value (`3`, `1e-3`, `[64, 64]`, `true`, `"Er3+"`); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Returns a copy of `raw` with dotted `section.key=value` overrides applied."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override must look like section.key=value (e.g. train.steps=100); got {item!r}")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) != 2:
            raise ConfigError(f"override key must be section.key with section in {sorted(_SECTIONS)}; got {key!r}")
        out.setdefault(parts[0], {})[parts[1]] = _parse_value(value.strip())
    return out


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Reads a TOML config file and applies `section.key=value` overrides."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; expected a TOML file such as configs/er3_de.toml")
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path} ({exc}); expected a readable TOML text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the syntax") from None
    return from_dict(apply_overrides(raw, overrides))


def resolve(config: Config) -> dict[str, dict[str, Any]]:
    """The full config as nested plain dicts (tuples become lists), every key present."""
    return {
        section: {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(getattr(config, section)).items()}
        for section in _SECTIONS
    }


def to_toml(config: Config) -> str:
    """The resolved config as TOML text (loadable by `load`)."""
    lines = []
    for section, values in resolve(config).items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, str):
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, float):
                text = repr(value)
            else:
                text = str(value)
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)


def replace(config: Config, **sections: dict[str, Any]) -> Config:
    """Returns `config` with some fields changed, e.g. `replace(c, train={"steps": 10})`."""
    raw = resolve(config)
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return from_dict(raw)
