"""Measurement sets: a TOML file (or several plain files) -> `MeasurementSet`.

The TOML form (relative paths start at the TOML file's folder, or at `data_dir` when given):

    ion = "Er3+"
    ions_per_formula = 2          # optional; also molar_mass_g_per_mol, mass_mg (override headers)
    data_dir = "../data"          # optional folder for the entries' files (relative to the TOML)
    preset = "axial"              # optional engine options: see OPTION_KEYS
    [[data]]
    file = "fc5.dat"
    kind = "chi"                  # or "mt"; or "mh"
    field_oe = 200                # picks a temperature run (tables without H: the field)
    t_min_k = 8                   # chi: t_min_k, t_max_k; mh: h_min_oe, h_max_oe
    direction = "powder"          # or "x", "y", "z", [nx, ny, nz]
    [[data]]
    file = "mvsh8.dat"
    kind = "mh"
    temperature_k = 2             # picks a field sweep (tables without T: the temperature)

Every key is checked: unknown keys are a `ConfigError` that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lfjax.errors import ConfigError, LfjaxError
from lfjax.io.curve_files import guess_kind, read_curves
from lfjax.io.curves import Curve, MeasurementSet, normalise_kind

#: Keys of one `[[data]]` entry (besides `file`).
ENTRY_KEYS = (
    "file", "kind", "field_oe", "temperature_k", "t_min_k", "t_max_k", "h_min_oe", "h_max_oe", "direction",
    "quantity", "format", "units", "curve", "mass_mg", "noise", "label", "max_points",
)
#: Sample keys at the top level of the set file.
SAMPLE_KEYS = ("ion", "ions_per_formula", "molar_mass_g_per_mol", "mass_mg", "data_dir")


def _str(name):
    def check(value):
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string; got {value!r}")
        return value
    return check


def _bool(name):
    def check(value):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false; got {value!r}")
        return value
    return check


def _int(name, least=1):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{name} must be an integer >= {least}; got {value!r}")
        return value
    return check


def _names(value):
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"params must be a list of parameter names (or one comma-separated string); got {value!r}")


def _fix(value):
    """{NAME: VALUE} from a TOML table or a list of "NAME=VALUE" strings."""
    items = value.items() if isinstance(value, dict) else None
    if items is None and isinstance(value, list):
        pairs = [str(v).split("=", 1) for v in value]
        if not all(len(p) == 2 for p in pairs):
            raise ConfigError(f"fix entries must read NAME=VALUE; got {value!r}")
        items = [(k.strip(), v.strip()) for k, v in pairs]
    if items is None:
        raise ConfigError(f"fix must be a table {{NAME = VALUE}} or a list of \"NAME=VALUE\"; got {value!r}")
    out = {}
    for key, number in items:
        try:
            out[str(key)] = float(number)
        except (TypeError, ValueError):
            raise ConfigError(f"fix {key} must be a number; got {number!r}") from None
    return out


def _table(name):
    def check(value):
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a table; got {value!r}")
        return value
    return check


#: Engine options accepted in a set file and stored in `MeasurementSet.options`, with checks.
#: The fit and sample engines interpret them (e.g. `fix` values in K unless `unit` says otherwise).
OPTION_KEYS: dict[str, Callable[[Any], Any]] = {
    "preset": _str("preset"),
    "params": _names,
    "fix": _fix,
    "unit": _str("unit"),
    "mean_field": _bool("mean_field"),
    "prior": _table("prior"),
    "starts": _int("starts"),
    "seed": _int("seed", least=0),
}


def _check_keys(given: Iterable[str], valid: Iterable[str], where: str) -> None:
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}")


def _number(value, name: str, where: str, positive: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number; got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{where}: {name} must be > 0; got {value!r}")
    return float(value)


def read_measurement_set(path_or_files: str | Path | Iterable[str | Path], **overrides) -> MeasurementSet:
    """Reads a TOML set file, or plain data files, into a `MeasurementSet`.

    Args:
      path_or_files: a `.toml` set file, one data file, or a list of data files (the
        `lfjax fit FILE [FILE ...]` case: each file's kind is guessed unless `kind` is given;
        a file whose field varies at a constant temperature is M(H)).
      **overrides: values that replace the set file's (None values are ignored): sample keys
        (ion, ions_per_formula, molar_mass_g_per_mol, mass_mg, data_dir), engine options
        (`OPTION_KEYS`), and entry keys applied to every entry they fit (field_oe and t_min_k /
        t_max_k to chi curves, temperature_k and h_min_oe / h_max_oe to M(H) curves; kind,
        direction, quantity, format, units, noise, max_points, mass_mg to all).

    Raises:
      ConfigError: unknown keys (listing the valid ones), bad values, an unreadable TOML.
      ReaderError: a missing file, no matching segment, a kind the file does not hold, no
        points left after the ranges; the message names the set file and entry.
    """
    overrides = {k: v for k, v in overrides.items() if v is not None}
    _check_keys(overrides, (*SAMPLE_KEYS, *OPTION_KEYS, *ENTRY_KEYS), "options")
    if isinstance(path_or_files, (str, Path)):
        paths = [Path(path_or_files)]
    else:
        paths = [Path(p) for p in path_or_files]
    if not paths:
        raise ConfigError("no data given; pass a set file (.toml) or data files")
    tomls = [p for p in paths if p.suffix.lower() == ".toml"]
    if tomls and len(paths) > 1:
        raise ConfigError(f"give one set file alone, or data files only; got {', '.join(map(str, paths))}")
    if tomls:
        return _from_toml(tomls[0], overrides)
    entries = [{"file": str(p)} for p in paths]
    return _build({}, entries, Path.cwd(), None, overrides)


def _from_toml(path: Path, overrides: dict) -> MeasurementSet:
    if not path.is_file():
        raise ConfigError(f"set file {path} does not exist")
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    _check_keys(config, (*SAMPLE_KEYS, *OPTION_KEYS, "data"), path.name)
    entries = config.pop("data", None)
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path.name}: needs one or more [[data]] entries, each with file = \"...\"")
    return _build(config, entries, path.parent, path, overrides)


def _build(config: dict, entries: list[dict], base: Path, toml: Path | None, overrides: dict) -> MeasurementSet:
    where = toml.name if toml else "options"
    sample = {k: overrides.get(k, config.get(k)) for k in SAMPLE_KEYS}
    ion = sample["ion"]
    if ion is not None and not isinstance(ion, str):
        raise ConfigError(f"{where}: ion must be a string such as \"Er3+\"; got {ion!r}")
    ions = _number(sample["ions_per_formula"], "ions_per_formula", where, positive=True) or 1.0
    molar = _number(sample["molar_mass_g_per_mol"], "molar_mass_g_per_mol", where, positive=True)
    mass = _number(sample["mass_mg"], "mass_mg", where, positive=True)
    data_dir = base
    if sample["data_dir"] is not None:
        if not isinstance(sample["data_dir"], str):
            raise ConfigError(f"{where}: data_dir must be a string path; got {sample['data_dir']!r}")
        data_dir = base / Path(sample["data_dir"]).expanduser()
        if not data_dir.is_dir():
            raise ConfigError(f"{where}: data_dir {data_dir} is not a folder; fix data_dir or pass it as an option")
    options = {}
    for key, check in OPTION_KEYS.items():
        value = overrides.get(key, config.get(key))
        if value is not None:
            try:
                options[key] = check(value)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
    curves: list[Curve] = []
    for index, entry in enumerate(entries):
        label = f"{where} [[data]] #{index + 1}" if toml else where
        curves += _read_entry(entry, index if toml else None, label, data_dir, ions, molar, mass, overrides)
    curves = _distinct_labels(curves)
    warnings = tuple(f"{c.label}: {w}" for c in curves for w in c.source.warnings)
    return MeasurementSet(
        ion=ion, curves=tuple(curves), ions_per_formula=ions, molar_mass_g_per_mol=molar, mass_mg=mass,
        options=options, source=str(toml) if toml else None, warnings=warnings,
    )


_CHI_ONLY = ("field_oe", "t_min_k", "t_max_k")
_MH_ONLY = ("temperature_k", "h_min_oe", "h_max_oe")


def _read_entry(entry, index, where, data_dir, ions, molar, mass, overrides) -> list[Curve]:
    _check_keys(entry, ENTRY_KEYS, where)
    if "file" not in entry or not isinstance(entry["file"], str):
        raise ConfigError(f"{where}: needs file = \"path\" (relative to the set file)")
    path = data_dir / Path(entry["file"]).expanduser()
    entry = dict(entry)
    try:
        kind = overrides.get("kind", entry.get("kind"))
        if kind is None:
            hint = "chi" if "field_oe" in entry or "field_oe" in overrides else None
            hint = hint or ("mh" if "temperature_k" in entry or "temperature_k" in overrides else None)
            try:
                kind = guess_kind(path, fmt=entry.get("format", overrides.get("format", "auto")),
                                  quantity=entry.get("quantity", overrides.get("quantity")))
            except LfjaxError:
                if hint is None:
                    raise
                kind = hint
        kind = normalise_kind(kind)
        for key, value in overrides.items():
            if key not in ENTRY_KEYS or key in ("file", "label", "curve"):
                continue
            if (key in _CHI_ONLY and kind != "chi") or (key in _MH_ONLY and kind != "mh"):
                continue
            entry[key] = value
        entry["kind"] = kind
        numbers = {k: _number(entry.get(k), k, where) for k in (*_CHI_ONLY, *_MH_ONLY, "noise")}
        entry_mass = _number(entry.get("mass_mg"), "mass_mg", where, positive=True)
        return read_curves(
            path, kind, **numbers, direction=entry.get("direction", "powder"), quantity=entry.get("quantity"),
            fmt=entry.get("format", "auto"), units=entry.get("units"), curve=entry.get("curve"),
            mass_mg=entry_mass if entry_mass is not None else mass, molar_mass_g_per_mol=molar,
            ions_per_formula=ions, label=entry.get("label"), max_points=entry.get("max_points", 200), entry=index,
        )
    except LfjaxError as exc:
        prefix = f"{where} ({entry['file']})" if where != "options" else ""
        message = str(exc)
        raise type(exc)(f"{prefix}: {message}" if prefix else message) from None


def _distinct_labels(curves: list[Curve]) -> list[Curve]:
    seen: dict[str, int] = {}
    out = []
    for curve in curves:
        count = seen.get(curve.label, 0) + 1
        seen[curve.label] = count
        out.append(curve if count == 1 else dataclasses.replace(curve, label=f"{curve.label} ({count})"))
    return out
