"""Curves and their readers: data types, unit conversions, tables, and the real chi(T) files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.errors import ConfigError, ReaderError
from lfjax.io.curve_files import guess_kind, read_curve, read_curves
from lfjax.io.curves import (
    Curve,
    MeasurementSet,
    emu_per_mol_to_mub,
    moment_to_emu_per_mol_ion,
    mub_to_emu_per_mol,
    normalise_direction,
)
from lfjax.io.writers import write_qd_dat

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
# ErCOT2 field-cooled files and their fields (Oe) from the data README
ERCOT2_FIELDS = {7: 100, 8: 250, 9: 500, 10: 750, 11: 1000, 12: 10000, 13: 40000}


@pytest.fixture
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL}")
    return REAL


def _at(curve, temp_k):
    i = int(np.argmin(np.abs(curve.temps_k - temp_k)))
    return curve.temps_k[i], curve.chi_t_emu_k_per_mol[i]


# ---- data types ---------------------------------------------------------------------------------

def test_curve_normalises_kind_and_direction_and_freezes_arrays():
    curve = Curve("mt", [2.0, 3.0, 4.0], [100, 100, 100], [1.0, 0.5, 0.25], direction=[0, 0, 2], label="a")
    assert curve.kind == "chi" and curve.direction == (0.0, 0.0, 1.0) and curve.unit == "emu/mol"
    np.testing.assert_allclose(curve.direction_vector, [0, 0, 1])
    np.testing.assert_allclose(curve.chi_t_emu_k_per_mol, [2.0, 1.5, 1.0])
    with pytest.raises(ValueError):
        curve.values[0] = 3.0
    with pytest.raises(ConfigError, match="kind 'chi', not 'mh'"):
        _ = curve.m_mub_per_ion
    assert Curve("mh", [2, 2], [1e3, 2e3], [1, 2], direction="Y").direction_vector.tolist() == [0, 1, 0]
    assert normalise_direction([1, 1, 0]) == pytest.approx((2 ** -0.5, 2 ** -0.5, 0.0))
    assert Curve("chi", [2], [0], [1]).direction_vector is None


@pytest.mark.parametrize("direction, match", [
    ([0, 0, 0], "zero vector"), ([1, 0], "3 finite numbers"), ("diagonal", "unknown direction"),
    ([1, "a", 0], "3 finite numbers|not a word"), ([np.nan, 0, 1], "3 finite numbers"),
])
def test_bad_directions_are_config_errors(direction, match):
    with pytest.raises(ConfigError, match=match):
        normalise_direction(direction)


def test_curve_refuses_inconsistent_arrays_and_bad_noise():
    with pytest.raises(ConfigError, match="one shape"):
        Curve("chi", [1, 2], [0, 0, 0], [1, 2])
    with pytest.raises(ConfigError, match="> 0 K"):
        Curve("chi", [0, 2], [0, 0], [1, 2])
    with pytest.raises(ConfigError, match="noise"):
        Curve("chi", [1, 2], [0, 0], [1, 2], noise=-0.01)
    with pytest.raises(ConfigError, match="unknown curve kind"):
        Curve("chit_of_h", [1], [0], [1])


def test_set_needs_curves_with_distinct_labels():
    a = Curve("chi", [1, 2], [0, 0], [1, 2], label="a")
    with pytest.raises(ConfigError, match="at least one curve"):
        MeasurementSet("Er3+", ())
    with pytest.raises(ConfigError, match="distinct"):
        MeasurementSet("Er3+", (a, a))
    m = Curve("mh", [2, 2], [1e3, 2e3], [1, 2], label="m")
    s = MeasurementSet("Er3+", [a, m], ions_per_formula=2)
    assert s.kinds == ("chi", "mh") and s.of_kind("mt") == (a,) and s.n_points == 4
    assert s.to_dict()["curves"][1]["unit"] == "mu_B/ion"


def test_unit_conversions():
    # 1 mu_B per ion on 2 ions per formula of 1 mg of a 500 g/mol compound: moment in emu
    moles = 1e-3 / 500
    moment = NA_MUB_EMU_PER_MOL * moles * 2
    assert moment_to_emu_per_mol_ion(moment, 1.0, 500.0, 2) == pytest.approx(NA_MUB_EMU_PER_MOL)
    assert emu_per_mol_to_mub(moment_to_emu_per_mol_ion(moment, 1.0, 500.0, 2)) == pytest.approx(1.0)
    assert mub_to_emu_per_mol(emu_per_mol_to_mub(1234.5)) == pytest.approx(1234.5)


# ---- tables -------------------------------------------------------------------------------------

def test_named_chi_table_with_field_column(tmp_path):
    t = np.linspace(2, 300, 30)
    chi = 11.0 / t
    rows = "\n".join(f"{a},{1000.0},{b}" for a, b in zip(t, chi))
    (tmp_path / "c.csv").write_text("T_K,H_Oe,chi_emu_per_mol\n" + rows)
    curve = read_curve(tmp_path / "c.csv", ions_per_formula=2)
    assert curve.kind == "chi" and np.all(curve.fields_oe == 1000)
    np.testing.assert_allclose(curve.values, chi / 2)


def test_chit_table_without_field_takes_field_oe(tmp_path):
    t = np.linspace(2, 300, 30)
    (tmp_path / "c.tsv").write_text("T_K\tchiT_emu_K_per_mol\n" + "\n".join(f"{a}\t{9.5}" for a in t))
    curve = read_curve(tmp_path / "c.tsv", "chi", field_oe=500)
    assert curve.field_oe == 500
    np.testing.assert_allclose(curve.chi_t_emu_k_per_mol, 9.5)


def test_m_of_h_tables_in_mu_b_and_emu_per_mol(tmp_path):
    h = np.linspace(1000, 50000, 20)
    (tmp_path / "m.csv").write_text("H_Oe,M_muB_per_ion\n" + "\n".join(f"{a},{np.tanh(a / 1e4)}" for a in h))
    assert guess_kind(tmp_path / "m.csv") == "mh"
    curve = read_curve(tmp_path / "m.csv", temperature_k=2)
    assert curve.kind == "mh" and np.all(curve.temps_k == 2)
    np.testing.assert_allclose(curve.values, np.tanh(h / 1e4))
    with pytest.raises(ReaderError, match="give temperature_k"):
        read_curve(tmp_path / "m.csv", "mh")
    (tmp_path / "e.csv").write_text("H_Oe,T_K,M_emu_per_mol\n" + "\n".join(f"{-a},5,{-2 * NA_MUB_EMU_PER_MOL}" for a in h))
    curve = read_curve(tmp_path / "e.csv", "mh", ions_per_formula=2)
    np.testing.assert_allclose(curve.values, 1.0)  # folded: M(-H) = -M(H), one mu_B per ion
    np.testing.assert_allclose(curve.fields_oe, np.sort(h))


def test_paired_columns_split_by_repeated_temperature_names(tmp_path):
    t = np.linspace(2, 300, 12)
    rows = "\n".join(f"{a},{1 / a},{a + 0.5},{2 / (a + 0.5)}" for a in t)
    (tmp_path / "p.csv").write_text("T,chi,T,chi\n" + rows)
    curves = read_curves(tmp_path / "p.csv", field_oe=1000)
    assert [c.label for c in curves] == ["p curve 1", "p curve 2"]
    np.testing.assert_allclose(curves[1].chi_t_emu_k_per_mol, 2.0)
    assert read_curve(tmp_path / "p.csv", curve=1).temps_k[0] == pytest.approx(2.5)
    with pytest.raises(ReaderError, match="holds 2 curves"):
        read_curve(tmp_path / "p.csv")
    with pytest.raises(ReaderError, match="no curve labelled 'x'"):
        read_curve(tmp_path / "p.csv", curve="x")


def test_unknown_quantity_is_refused(tmp_path):
    (tmp_path / "c.csv").write_text("T,chi\n1,2\n2,1\n")
    with pytest.raises(ReaderError, match="unknown quantity 'kappa'; expected one of chiT, chi, moment, M, M_muB"):
        read_curve(tmp_path / "c.csv", quantity="kappa")


def test_qd_chi_curve_matches_the_written_moments(tmp_path):
    t = np.linspace(2, 300, 40)
    chi_ion = 11.48 / t  # emu/mol per ion
    mass_mg, molar, ions = 8.0, 900.0, 2
    moment = chi_ion * 1000.0 * (mass_mg * 1e-3 / molar) * ions
    write_qd_dat(tmp_path / "s.dat", t, np.full(t.size, 1000.0), moment, mass_mg=mass_mg)
    curve = read_curve(tmp_path / "s.dat", molar_mass_g_per_mol=molar, ions_per_formula=ions, t_min_k=10, t_max_k=200)
    assert curve.temps_k.min() >= 10 and curve.temps_k.max() <= 200
    np.testing.assert_allclose(curve.chi_t_emu_k_per_mol, 11.48, rtol=1e-5)
    assert curve.source.fmt == "qd" and curve.source.quantity == "moment" and curve.source.t_range_k == (10, 200)


# ---- real chi(T) files --------------------------------------------------------------------------

@pytest.mark.parametrize("number, field", sorted(ERCOT2_FIELDS.items()))
def test_ercot2_field_cooled_files(real, number, field):
    curve = read_curve(real / f"ErCOT2_fc{number}.dat")
    assert curve.kind == "chi" and curve.field_oe == pytest.approx(field, rel=2e-3)
    assert curve.n_points > 180 and np.all(np.diff(curve.temps_k) > 0)
    # per Er at 300 K: 10.96 (100 Oe, the smallest moments) to 11.61 across the seven runs (free ion 11.48)
    assert 10.8 < _at(curve, 300)[1] < 11.7


def test_ercot2_chi_t_plateau_and_field_saturation(real):
    low = read_curve(real / "ErCOT2_fc11.dat")
    assert _at(low, 300)[1] == pytest.approx(11.45, abs=0.02)  # README: rises slowly to 11.45 at 300 K
    plateau = low.chi_t_emu_k_per_mol[(low.temps_k >= 20) & (low.temps_k <= 50)]
    assert plateau.mean() == pytest.approx(10.9, abs=0.2) and np.ptp(plateau) < 0.3
    high = read_curve(real / "ErCOT2_fc13.dat")
    assert high.values[0] < 0.8 * low.values[0]  # M/H at 2 K falls with field (saturation)


def test_er2_dimer_chi_t_by_hand_and_its_low_temperature_maximum(real):
    path = real / "Er2TMSCOT_I_fc5.dat"
    curve = read_curve(path, ions_per_formula=2)
    lines = path.read_text().splitlines()
    header = next(csv.reader([lines[lines.index("[Data]") + 1]]))
    last = next(csv.reader([lines[-1]]))
    temp, field, moment = (float(last[header.index(n)]) for n in
                           ("Temperature (K)", "Magnetic Field (Oe)", "DC Moment Fixed Ctr (emu)"))
    by_hand = moment / field / (10.2e-3 / 1229.56) / 2 * temp  # 10.2 mg, 1229.56 g/mol, two Er
    t, chi_t = _at(curve, temp)
    assert t == pytest.approx(temp) and chi_t == pytest.approx(by_hand, rel=1e-9)
    assert 11.0 < chi_t < 12.0  # per Er at 300 K (free Er3+: 11.48)
    cold = curve.temps_k < 20
    assert 2.5 < curve.temps_k[cold][np.argmax(curve.chi_t_emu_k_per_mol[cold])] < 5.0  # README: maximum near 3.5 K


def test_kerse2_files_give_two_temperature_runs_and_a_sweep(real):
    name = "KErSe2_Hparatoplate_12.07.2019.dc.dat"
    with pytest.raises(ReaderError, match="holds both temperature runs and field sweeps"):
        guess_kind(real / name)
    with pytest.raises(ReaderError, match="holds 2 M\\(T\\) runs"):
        read_curve(real / name, "chi", molar_mass_g_per_mol=364.30)
    one = read_curve(real / name, "chi", field_oe=1000, molar_mass_g_per_mol=364.30)
    ten = read_curve(real / name, "chi", field_oe=10000, molar_mass_g_per_mol=364.30)
    assert one.field_oe == 1000 and ten.field_oe == 10000 and any("zero field" in w for w in one.source.warnings)
    # line 529 of the file: 1000 Oe, 299.7307 K, 6.523717e-5 emu; 0.560 mg of 364.30 g/mol
    _, chi_t = _at(one, 299.7307)
    assert chi_t == pytest.approx(6.523717e-5 / (1000 * 0.560e-3 / 364.30) * 299.7307, rel=1e-6)
    assert _at(ten, 2.0)[1] < _at(one, 2.0)[1]  # saturation at 2 K, 10 kOe


def test_kerse2_paired_table_splits_into_three_chi_curves(real):
    curves = read_curves(real / "KErSe2_MT.dat")
    assert [c.label for c in curves] == ["KErSe2_MT powder", "KErSe2_MT H//ab", "KErSe2_MT H//c"]
    assert all(c.kind == "chi" and c.unit == "emu/mol" and c.n_points > 400 for c in curves)
    first = curves[0]
    # the file's first two powder rows (1.992824 K and 1.994531 K) are within 2 mK: averaged
    assert first.temps_k[0] == pytest.approx((1.992824 + 1.994531) / 2)
    assert first.values[0] == pytest.approx((2.15192620266697 + 2.15096583523970) / 2, rel=1e-12)
    assert any("looks oriented" in w for w in curves[2].source.warnings)
    powder, ab, c = (_at(curve, 300.0)[1] for curve in curves)
    assert c < ab and 10.0 < powder < 12.0
    assert powder == pytest.approx((2 * ab + c) / 3, rel=0.02)  # the powder average of a uniaxial crystal
    picked = read_curve(real / "KErSe2_MT.dat", curve="H//c", direction="z", field_oe=1000)
    assert picked.direction == "z" and picked.field_oe == 1000 and picked.source.warnings == curves[2].source.warnings[:-1]


def test_group_labels_come_from_names_not_units(tmp_path):
    rows = "\n".join(f"{a},{1 / a},{a},{2 / a}" for a in np.linspace(2, 300, 8))
    (tmp_path / "n.csv").write_text("T_K,chi_powder,T_K,chi_ab\n" + rows)
    assert [c.label for c in read_curves(tmp_path / "n.csv")] == ["n powder", "n ab"]
    (tmp_path / "u.csv").write_text("T_K,chi_emu_per_mol,T_K,chi_emu_per_mol\n" + rows)
    assert [c.label for c in read_curves(tmp_path / "u.csv")] == ["u curve 1", "u curve 2"]
    (tmp_path / "one.csv").write_text("T_K,chi_emu_per_mol\n" + "\n".join(f"{a},{1 / a}" for a in np.linspace(2, 300, 8)))
    assert read_curve(tmp_path / "one.csv").label == "one"
