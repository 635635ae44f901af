"""Measurement sets: TOML files, plain-file sets, overrides, the example sets, and every refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.errors import ConfigError, ReaderError
from lfjax.io.measurement_set import ENTRY_KEYS, read_measurement_set
from lfjax.io.writers import write_qd_dat

REPO = Path(__file__).resolve().parents[2]
REAL = REPO / ".." / "shared" / "data" / "real"
EXAMPLES = REPO / "lfjax" / "examples"


@pytest.fixture
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL}")
    return REAL


@pytest.fixture
def sample(tmp_path) -> Path:
    """A folder with an M(T) run at 1000 Oe and an M(H) loop at 2 K of one simulated sample (data/)."""
    data = tmp_path / "data"
    data.mkdir()
    moles = 4.0e-3 / 600.0  # 4 mg of 600 g/mol, one ion per formula
    t = np.linspace(2, 300, 50)
    write_qd_dat(data / "mt.dat", t, np.full(t.size, 1000.0), 11.0 / t * 1000.0 * moles, mass_mg=4.0)
    h = np.concatenate([np.linspace(0, 50000, 26), np.linspace(50000, -50000, 51)[1:]])
    write_qd_dat(data / "mh.dat", np.full(h.size, 2.0), h, 5.0 * np.tanh(h / 1e4) * NA_MUB_EMU_PER_MOL * moles, mass_mg=4.0)
    return tmp_path


def _toml(folder: Path, text: str, name: str = "set.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


GOOD = """
ion = "Er3+"
molar_mass_g_per_mol = 600
preset = "axial"
fix = {B40 = 0.01}
mean_field = true
[[data]]
file = "data/mt.dat"
kind = "mt"
field_oe = 1000
t_min_k = 5
direction = [1, 1, 0]
noise = 0.005
[[data]]
file = "data/mh.dat"
kind = "mh"
temperature_k = 2
h_min_oe = 1000
direction = "z"
"""


def test_toml_set_reads_every_curve_with_paths_relative_to_the_set_file(sample, monkeypatch):
    path = _toml(sample, GOOD)
    monkeypatch.chdir("/")
    s = read_measurement_set(path)
    chi, mh = s.curves
    assert s.ion == "Er3+" and s.molar_mass_g_per_mol == 600 and s.source == str(path)
    assert s.options == {"preset": "axial", "fix": {"B40": 0.01}, "mean_field": True}
    assert chi.kind == "chi" and chi.temps_k.min() >= 5 and chi.noise == 0.005
    assert chi.direction == pytest.approx((2 ** -0.5, 2 ** -0.5, 0.0))
    np.testing.assert_allclose(chi.chi_t_emu_k_per_mol, 11.0, rtol=1e-5)
    assert mh.kind == "mh" and mh.direction == "z" and mh.fields_oe.min() >= 1000
    assert "virgin branch" in mh.source.segment and mh.source.entry == 1
    np.testing.assert_allclose(mh.values, 5.0 * np.tanh(mh.fields_oe / 1e4), rtol=1e-5)
    assert s.to_dict()["curves"][0]["source"]["file"].endswith("mt.dat")


def test_overrides_replace_set_values_where_they_apply(sample):
    s = read_measurement_set(_toml(sample, GOOD), t_min_k=50, h_max_oe=20000, preset="DE", ions_per_formula=2,
                             fix=["B20=1.5"], temperature_k=None)
    chi, mh = s.curves
    assert chi.temps_k.min() >= 50 and mh.fields_oe.max() <= 20000  # ranges went to their own kinds only
    assert s.options["preset"] == "DE" and s.options["fix"] == {"B20": 1.5}
    np.testing.assert_allclose(chi.chi_t_emu_k_per_mol, 11.0 / 2, rtol=1e-5)


def test_plain_files_guess_their_kind(sample):
    data = sample / "data"
    s = read_measurement_set([data / "mt.dat", data / "mh.dat"], molar_mass_g_per_mol=600, ion="Er3+")
    assert [c.kind for c in s.curves] == ["chi", "mh"] and s.source is None and s.options == {}
    assert [c.label for c in s.curves] == ["mt", "mh"]
    one = read_measurement_set(data / "mh.dat", molar_mass_g_per_mol=600)
    assert one.curves[0].kind == "mh"


def test_same_file_twice_gets_distinct_labels(sample):
    data = sample / "data"
    s = read_measurement_set([data / "mt.dat", data / "mt.dat"], molar_mass_g_per_mol=600)
    assert [c.label for c in s.curves] == ["mt", "mt (2)"]


# ---- refusals: one line each, the right error class ---------------------------------------------

BAD = [
    ('[[data]]\nfile = "data/nothere.dat"\nkind = "chi"\n', ReaderError, r"set.toml \[\[data\]\] #1 .*does not exist"),
    ('[[data]]\nfile = "data/mt.dat"\nfield_oe = 1000\nt_min_k = 400\n', ReaderError, r"only 0 points .* widen t_min_k"),
    ('[[data]]\nfile = "data/mh.dat"\nkind = "mh"\nh_min_oe = 60000\n', ReaderError, r"only 0 points .* widen h_min_oe"),
    ('[[data]]\nfile = "data/mt.dat"\nkind = "mh"\n', ReaderError, r"asked for an M\(H\) curve .* use kind = \"chi\""),
    ('[[data]]\nfile = "data/mh.dat"\nkind = "chi"\n', ReaderError, r"asked for a chi\(T\) curve .* use kind = \"mh\""),
    ('[[data]]\nfile = "data/mt.dat"\nfield_oe = 5000\n', ReaderError, r"no M\(T\) run at 5000 Oe"),
    ('[[data]]\nfile = "data/mt.dat"\ndirection = [0, 0, 0]\n', ConfigError, "zero vector"),
    ('[[data]]\nfile = "data/mt.dat"\ndirection = [1, 0]\n', ConfigError, "3 finite numbers"),
    ('[[data]]\nfile = "data/mt.dat"\ndirection = "c-axis"\n', ConfigError, "unknown direction 'c-axis'"),
    ('[[data]]\nfile = "data/mt.dat"\nquantity = "kappa"\n', ReaderError, "unknown quantity 'kappa'"),
    ('[[data]]\nfile = "data/mt.dat"\nkind = "chi"\nh_max_oe = 10\n', ConfigError, "apply to M\\(H\\) curves"),
    ('[[data]]\nfile = "data/mt.dat"\nkind = "susceptibility"\n', ConfigError, "unknown curve kind"),
    ('[[data]]\nfile = "data/mt.dat"\nfeild_oe = 1000\n', ConfigError, "unknown key\\(s\\) feild_oe; valid keys: file, kind, field_oe"),
    ('ions = 2\n[[data]]\nfile = "data/mt.dat"\n', ConfigError, "unknown key\\(s\\) ions; valid keys: ion, ions_per_formula"),
    ('ions_per_formula = 0\n[[data]]\nfile = "data/mt.dat"\n', ConfigError, "ions_per_formula must be > 0"),
    ('mean_field = "yes"\n[[data]]\nfile = "data/mt.dat"\n', ConfigError, "mean_field must be true or false"),
    ('fix = ["B20"]\n[[data]]\nfile = "data/mt.dat"\n', ConfigError, "NAME=VALUE"),
    ('ion = "Er3+"\n', ConfigError, "needs one or more \\[\\[data\\]\\] entries"),
    ('[[data]]\nkind = "chi"\n', ConfigError, "needs file"),
    ('[[data]\nfile = 1', ConfigError, "not valid TOML"),
    ('data_dir = "nowhere"\n[[data]]\nfile = "mt.dat"\n', ConfigError, "data_dir .* is not a folder"),
]


@pytest.mark.parametrize("text, error, match", BAD)
def test_bad_sets_are_refused_in_one_line(sample, text, error, match):
    with pytest.raises(error, match=match) as info:
        read_measurement_set(_toml(sample, 'molar_mass_g_per_mol = 600\n' + text))
    assert "\n" not in str(info.value)


def test_unknown_override_and_missing_set_file(sample):
    with pytest.raises(ConfigError, match="unknown key\\(s\\) presett"):
        read_measurement_set(_toml(sample, GOOD), presett="DE")
    with pytest.raises(ConfigError, match="does not exist"):
        read_measurement_set(sample / "absent.toml")
    with pytest.raises(ConfigError, match="one set file alone"):
        read_measurement_set([_toml(sample, GOOD), sample / "data" / "mt.dat"])
    assert "curve" in ENTRY_KEYS and "noise" in ENTRY_KEYS


def test_mixed_file_needs_a_kind_or_a_picker(real):
    path = real / "KErSe2_Hparatoplate_12.07.2019.dc.dat"
    with pytest.raises(ReaderError, match="holds both temperature runs and field sweeps"):
        read_measurement_set(path, molar_mass_g_per_mol=364.30)
    s = read_measurement_set(path, molar_mass_g_per_mol=364.30, temperature_k=2, h_max_oe=55000)
    assert s.curves[0].kind == "mh"


# ---- the example sets on the real files ---------------------------------------------------------

def test_er2_dimer_example_set(real):
    s = read_measurement_set(EXAMPLES / "er2_dimer_set.toml")
    chi, mh = s.curves
    assert s.ion == "Er3+" and s.ions_per_formula == 2
    assert chi.label == "chi 200 Oe" and chi.temps_k.min() >= 8 and chi.field_oe == pytest.approx(200, rel=1e-3)
    assert 11.0 < chi.chi_t_emu_k_per_mol[-1] < 12.0  # per Er at 300 K
    assert mh.label == "M(H) 2 K" and 4.5 < mh.values[-1] < 6.5


def test_kerse2_example_set(real):
    s = read_measurement_set(EXAMPLES / "kerse2_set.toml")
    assert len(s.curves) == 6 and s.molar_mass_g_per_mol == pytest.approx(364.30)
    assert [c.direction for c in s.curves] == ["x"] * 3 + ["z"] * 3
    assert [c.kind for c in s.curves] == ["chi", "chi", "mh"] * 2
    assert [c.field_oe for c in s.curves if c.kind == "chi"] == [10000, 1000, 10000, 1000]
    ab, c = s.of_kind("mh")
    assert c.values[-1] < ab.values[-1]
    assert not any("falls" in w for w in s.warnings)


def test_ercot2_example_set(real):
    s = read_measurement_set(EXAMPLES / "ercot2_set.toml")
    assert len(s.of_kind("chi")) == 7 and len(s.of_kind("mh")) == 1
    fields = sorted(c.field_oe for c in s.of_kind("chi"))
    np.testing.assert_allclose(fields, [100, 250, 500, 750, 1000, 10000, 40000], rtol=2e-3)


def test_ercot2_seven_fields_example_set(real):
    s = read_measurement_set(EXAMPLES / "ercot2_seven_fields_set.toml")
    assert len(s.curves) == 7 and not s.of_kind("mh")
    assert all(c.temps_k.min() >= 12.0 for c in s.curves)
    # chi T per Er at 300 K: the free-ion 11.48 emu K/mol within the sample's mass error
    assert all(10.5 < c.chi_t_emu_k_per_mol[-1] < 12.0 for c in s.curves)


def test_data_dir_override(real, tmp_path):
    copy = tmp_path / "set.toml"
    copy.write_text((EXAMPLES / "er2_dimer_set.toml").read_text())
    with pytest.raises(ConfigError, match="data_dir"):
        read_measurement_set(copy)
    s = read_measurement_set(copy, data_dir=str(REAL.resolve()))
    assert len(s.curves) == 2
