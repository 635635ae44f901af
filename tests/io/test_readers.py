"""The measurement reader: real instrument files, plain tables, and every refusal."""

from __future__ import annotations

import numpy as np
import pytest

from lfjax.io.readers import ReaderError, read_measurement
from lfjax.io.writers import write_qd_dat

REAL = "data/real"
# (file, formula mass g/mol, ions per formula, per-ion chi T at 300 K by hand from the README)
REAL_FILES = [
    ("Nd3Sb3Mg2O14_MT_1.8_to_300_5000_oe_53.8_mg.dc.dat", 1070.60, 3, 1.339),
    ("Nd3Sb3Zn2O14_MT_5000_oe.dc.dat", 1152.75, 3, 1.301),
    ("Pr3Sb3Mg2O14.dc.dat", 1060.60, 3, 1.209),
]
KERSE2 = "KErSe2_Hparatoplate_12.07.2019.dc.dat"
# Line 529 of the KErSe2 file: 1000 Oe, 299.7307 K, 6.523717e-5 emu; 0.560 mg of 364.30 g/mol.
KERSE2_CHI_T_299K = 6.523717e-5 / (1000 * 0.560e-3 / 364.30) * 299.7307


def _at(m, temp_k):
    i = int(np.argmin(np.abs(m.temps_k - temp_k)))
    return m.temps_k[i], m.chi_t_emu_k_per_mol[i]


@pytest.mark.parametrize("name, molar, ions, expected", REAL_FILES)
def test_real_files_give_the_hand_computed_chi_t_at_300_k(shared_dir, name, molar, ions, expected):
    m = read_measurement(shared_dir / REAL / name, molar_mass_g_per_mol=molar, ions_per_formula=ions)
    temp, chi_t = _at(m, 300.0)
    assert abs(temp - 300) < 1
    assert chi_t == pytest.approx(expected, rel=5e-3)
    assert m.fmt == "qd" and m.n_points > 100 and np.all(np.diff(m.temps_k) > 0)


def test_kerse2_needs_a_segment_and_lists_them(shared_dir):
    with pytest.raises(ReaderError) as info:
        read_measurement(shared_dir / REAL / KERSE2, molar_mass_g_per_mol=364.30)
    message = str(info.value)
    assert "3 segments" in message and "M(H) sweep at 2.0 K" in message
    assert "M(T) at 10000 Oe" in message and "M(T) at 1000 Oe" in message and "--field-oe" in message


def test_kerse2_at_1000_oe_skips_zero_field_rows_with_a_warning(shared_dir):
    m = read_measurement(shared_dir / REAL / KERSE2, molar_mass_g_per_mol=364.30, field_oe=1000)
    assert np.all(m.field_oe == pytest.approx(1000))
    assert any("zero field" in w and "2 rows" in w for w in m.warnings)
    temp, chi_t = _at(m, 299.7307)
    assert temp == pytest.approx(299.7307) and chi_t == pytest.approx(KERSE2_CHI_T_299K, rel=5e-3)
    high = read_measurement(shared_dir / REAL / KERSE2, molar_mass_g_per_mol=364.30, field_oe=10000)
    assert np.all(high.field_oe == pytest.approx(10000)) and high.n_points > 300


def test_mass_option_overrides_the_header(shared_dir):
    path = shared_dir / REAL / REAL_FILES[0][0]
    header = read_measurement(path, molar_mass_g_per_mol=1070.60)
    doubled = read_measurement(path, molar_mass_g_per_mol=1070.60, mass_mg=2 * 53.8)
    np.testing.assert_allclose(doubled.chi_t_emu_k_per_mol, header.chi_t_emu_k_per_mol / 2, rtol=1e-12)


def _qd(tmp_path, temps, fields, moments, name="s.dat", **kw):
    path = tmp_path / name
    write_qd_dat(path, temps, fields, moments, mass_mg=kw.pop("mass_mg", 10.0), **kw)
    return path


def test_moment_to_chi_t_per_ion(tmp_path):
    temps = np.array([300.0, 100.0, 10.0, 5.0, 2.0, 50.0])
    chi_ion = 11.48 / temps  # a Curie law per ion (emu/mol)
    moles = 10.0e-3 / 500.0
    moments = 2 * chi_ion * 1000.0 * moles  # two ions per formula, 1000 Oe
    m = read_measurement(_qd(tmp_path, temps, np.full(6, 1000.0), moments), molar_mass_g_per_mol=500.0,
                         ions_per_formula=2)
    np.testing.assert_allclose(m.temps_k, np.sort(temps))
    np.testing.assert_allclose(m.chi_t_emu_k_per_mol, 11.48, rtol=1e-6)


def test_weight_with_unit_and_mpms3_order(tmp_path):
    base = "[Header]\nINFO, WEIGHT, {w}\nINFO,{mm},SAMPLE_MOLECULAR_WEIGHT\n[Data]\nTemperature (K),Field (Oe),DC Moment (emu)\n"
    rows = "".join(f"{t},1000,{1e-3 * 300 / t}\n" for t in (2, 5, 10, 50, 300))
    a = tmp_path / "a.dat"
    a.write_text(base.format(w="0.5mg", mm="100") + rows)
    b = tmp_path / "b.dat"
    b.write_text(base.format(w="0.0005 g", mm="100") + rows)
    ma, mb = read_measurement(a), read_measurement(b)
    np.testing.assert_allclose(ma.chi_t_emu_k_per_mol, mb.chi_t_emu_k_per_mol)
    assert ma.chi_t_emu_k_per_mol[0] == pytest.approx(1e-3 * 300 / (1000 * 0.5e-3 / 100) , rel=1e-9)


def test_repeated_temperatures_are_averaged_and_bad_rows_counted(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("T,chiT\n2,5.0\n2,5.2\n5,6\nabc,1\n10,7\n\n20,8\n50,9\n7,,\n")
    m = read_measurement(path)
    assert m.n_points == 5 and m.chi_t_emu_k_per_mol[0] == pytest.approx(5.1)
    assert any("merged 1" in w for w in m.warnings)
    assert any("skipped 2 non-numeric" in w and "lines 5, 10" in w for w in m.warnings)


def test_tables_chi_si_whitespace_and_explicit_quantity(tmp_path):
    temps = np.array([2.0, 5.0, 10.0, 100.0, 300.0])
    chi_cgs = 11.48 / temps
    si = tmp_path / "si.tsv"
    si.write_text("T (K)\tchi (m3/mol)\n" + "".join(f"{t}\t{c * 4e-6 * np.pi}\n" for t, c in zip(temps, chi_cgs)))
    np.testing.assert_allclose(read_measurement(si).chi_t_emu_k_per_mol, 11.48, rtol=1e-9)
    plain = tmp_path / "plain.txt"
    plain.write_text("# no header\n" + "".join(f"{t}  {c}\n" for t, c in zip(temps, chi_cgs)))
    with pytest.raises(ReaderError, match="--quantity"):
        read_measurement(plain)
    m = read_measurement(plain, quantity="chi", ions_per_formula=2, field_oe=1000)
    np.testing.assert_allclose(m.chi_t_emu_k_per_mol, 11.48 / 2)
    assert np.all(m.field_oe == 1000) and m.fmt == "table"


@pytest.mark.parametrize("body, options, pattern", [
    ("T,chiT\n2,5\n-1,5\n5,6\n10,7\n20,8\n", {}, r"x\.csv:3: temperature -1 K is not > 0"),
    ("T,chiT\n2,5\n5,6\n10,7\n", {}, r"x\.csv: only 3 usable points"),
    ("T,chiT\n2,\n5,\n10,\n20,\n50,\n", {}, r"x\.csv:1: 'chiT' is empty"),
    ("T,chiT\n2,5\n5,6\n10,7\n20,8\n50,9\n", {"model_t_range_k": (100.0, 300.0)}, r"misses the model's 100-300 K"),
    ("T,M\n2,5\n5,6\n10,7\n20,8\n50,9\n", {"field_oe": 1000.0}, r"give --mass-mg"),
])
def test_bad_tables_are_refused_with_a_line(tmp_path, body, options, pattern):
    path = tmp_path / "x.csv"
    path.write_text(body)
    with pytest.raises(ReaderError, match=pattern) as info:
        read_measurement(path, **options)
    assert "\n" not in str(info.value)


def test_qd_refusals(tmp_path):
    temps = np.array([2.0, 5.0, 10.0, 20.0, 50.0])
    path = _qd(tmp_path, temps, np.full(5, 1000.0), 1e-3 / temps)
    with pytest.raises(ReaderError, match="--molar-mass"):
        read_measurement(path)
    with pytest.raises(ReaderError, match="no temperature run at 5000 Oe"):
        read_measurement(path, molar_mass_g_per_mol=100, field_oe=5000)
    empty = tmp_path / "e.dat"
    empty.write_text("[Header]\nINFO, WEIGHT, 1\n[Data]\nTemperature (K),Field (Oe),Long Moment (emu)\n"
                     + "".join(f"{t},1000,\n" for t in temps))
    with pytest.raises(ReaderError, match=r"e\.dat:4: column 'Long Moment \(emu\)' is empty"):
        read_measurement(empty, molar_mass_g_per_mol=100)
    with pytest.raises(ReaderError, match="not a Quantum Design file"):
        read_measurement(_plain(tmp_path), fmt="qd")


def _plain(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("T,chiT\n2,5\n5,6\n10,7\n20,8\n50,9\n")
    return path


def test_segments_split_by_field(tmp_path):
    sweep_h = np.arange(10000.0, 0.0, -2000.0)
    temps = np.concatenate([np.full(sweep_h.size, 2.0), np.geomspace(2, 300, 8), np.geomspace(2, 300, 6)])
    fields = np.concatenate([sweep_h, np.full(8, 1000.0), np.full(6, 2000.0)])
    path = _qd(tmp_path, temps, fields, 1e-3 * fields / temps)
    with pytest.raises(ReaderError, match=r"s\.dat holds 3 segments: M\(T\) at 2000 Oe \(6 points\); M\(T\) at 1000 Oe \(8 points\); M\(H\) sweep at 2\.0 K"):
        read_measurement(path, molar_mass_g_per_mol=100)
    m = read_measurement(path, molar_mass_g_per_mol=100, field_oe=2000)
    assert m.n_points == 6 and np.all(m.field_oe == 2000)
