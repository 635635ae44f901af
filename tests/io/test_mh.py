"""M(H) sweeps: branch detection, field-sign folding, branch averaging, and the real M(H) files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.errors import ReaderError
from lfjax.io.curve_files import read_curve
from lfjax.io.mh import branches, fold_sweep
from lfjax.io.writers import write_qd_dat

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


@pytest.fixture
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL}")
    return REAL


def _m(h, hc=0.0, h0=8000.0):
    """An odd, saturating test magnetisation shifted by a coercive field hc (Oe)."""
    return np.tanh((h - hc) / h0)


def test_branches_follow_turns_and_ignore_jitter():
    up = np.linspace(0, 50000, 60)
    down = np.linspace(50000, -50000, 120)
    sweep = np.concatenate([up, down[1:], down[::-1][1:]])
    sweep = sweep + np.random.default_rng(0).normal(0, 3.0, sweep.size)  # 3 Oe jitter < turn tolerance
    found = branches(sweep)
    assert [d for *_, d in found] == [1, -1, 1]
    assert sum(b - a for a, b, _ in found) == sweep.size
    assert abs(found[0][1] - 60) <= 1 and abs(found[1][1] - 179) <= 1


def test_negative_fields_fold_onto_positive_ones():
    h = np.linspace(-60000, -200, 50)  # one sweep, only negative fields
    folded = fold_sweep(h, _m(h), np.full(h.size, 2.0))
    np.testing.assert_allclose(folded.fields_oe, np.abs(h)[::-1])
    np.testing.assert_allclose(folded.values, _m(np.abs(h))[::-1], rtol=1e-12)
    assert np.all(folded.values > 0)


def test_closed_loop_averages_to_the_curve_without_a_warning():
    h = np.concatenate([np.linspace(60000, -60000, 121), np.linspace(-60000, 60000, 121)[1:]])
    folded = fold_sweep(h, _m(h), np.full(h.size, 5.0))
    assert "mean of the rising and falling branches" in folded.how
    np.testing.assert_allclose(folded.values, _m(folded.fields_oe), atol=1e-12)
    assert not any("differ" in w for w in folded.warnings)
    assert any("folded negative fields" in w for w in folded.warnings)
    assert not any(w.startswith("dropped") for w in folded.warnings) or np.all(folded.fields_oe >= 1.0)


def test_open_loop_is_the_mean_of_the_branches_with_a_warning():
    hc = 3000.0
    down = np.linspace(60000, -60000, 121)  # falling from +saturation: M = m(H + hc)
    up = np.linspace(-60000, 60000, 121)[1:]  # rising from -saturation: M = m(H - hc)
    h = np.concatenate([down, up])
    m = np.concatenate([_m(down, -hc), _m(up, hc)])
    folded = fold_sweep(h, m, np.full(h.size, 5.0))
    x = folded.fields_oe
    # |H| rising: M(|H|) = m(|H| - hc) (both branches agree); |H| falling: m(|H| + hc)
    np.testing.assert_allclose(folded.values, 0.5 * (_m(x, hc) + _m(x, -hc)), atol=1e-12)
    warning = next(w for w in folded.warnings if "differ" in w)
    expected = 100 * np.max(np.abs(_m(x, -hc) - _m(x, hc))) / np.max(np.abs(folded.values))
    assert f"{expected:.1f} %" in warning


def test_virgin_branch_is_used_alone():
    virgin = np.linspace(0, 50000, 51)
    loop = np.concatenate([np.linspace(50000, -50000, 101)[1:], np.linspace(-50000, 50000, 101)[1:]])
    h = np.concatenate([virgin, loop])
    m = np.concatenate([0.9 * _m(virgin), _m(loop, 4000.0)])  # the loop differs; only the virgin counts
    folded = fold_sweep(h, m, np.full(h.size, 2.0))
    assert folded.how.startswith("virgin branch (51 of")
    np.testing.assert_allclose(folded.fields_oe, virgin[1:])  # 0 Oe dropped
    np.testing.assert_allclose(folded.values, 0.9 * _m(virgin[1:]), rtol=1e-12)


def test_long_sweeps_are_binned_and_ranges_applied_first():
    h = np.linspace(10, 70000, 3000)
    folded = fold_sweep(h, _m(h), np.full(h.size, 2.0), max_points=100, h_range_oe=(1000, 50000))
    assert folded.fields_oe.size == 100
    assert folded.fields_oe.min() >= 1000 and folded.fields_oe.max() <= 50000
    # bin means of a smooth curve stay on it to second order in the bin width
    np.testing.assert_allclose(folded.values, _m(folded.fields_oe), atol=2e-4)


def test_a_falling_magnetisation_is_flagged():
    h = np.linspace(1000, 60000, 40)
    m = _m(h)
    m[-2:] = 0.01  # two failed readings at the top field
    folded = fold_sweep(h, m, np.full(h.size, 2.0))
    assert any("M falls by" in w for w in folded.warnings)


def test_qd_file_loop_in_mu_b_per_ion(tmp_path):
    """A synthetic DC loop written as an MPMS file: units and folding end to end."""
    h = np.concatenate([np.linspace(-50000, 50000, 41), np.linspace(50000, -50000, 41)[1:]])
    mass_mg, molar, ions, mub = 5.0, 800.0, 2, 4.5
    moment = mub * _m(h) * NA_MUB_EMU_PER_MOL * (mass_mg * 1e-3 / molar) * ions
    write_qd_dat(tmp_path / "loop.dat", np.full(h.size, 2.0), h, moment, mass_mg=mass_mg)
    curve = read_curve(tmp_path / "loop.dat", "mh", molar_mass_g_per_mol=molar, ions_per_formula=ions)
    assert curve.kind == "mh" and curve.unit == "mu_B/ion"
    np.testing.assert_allclose(curve.values, mub * _m(curve.fields_oe), rtol=1e-5)
    assert np.all(curve.fields_oe > 0) and curve.temperature_k == pytest.approx(2.0)


def _raw_rows(path: Path, moment_column: str):
    """(T, H, moment) per data row, read independently of lfjax."""
    lines = path.read_text(errors="replace").splitlines()
    start = lines.index("[Data]")
    header = next(csv.reader([lines[start + 1]]))
    cols = [header.index(n) for n in ("Temperature (K)", "Magnetic Field (Oe)", moment_column)]
    rows = []
    for line in lines[start + 2:]:
        fields = next(csv.reader([line]))
        try:
            rows.append([float(fields[c]) for c in cols])
        except (ValueError, IndexError):
            continue
    return np.asarray(rows)


def test_ercot2_loop_at_5_k(real):
    curve = read_curve(real / "ErCOT2_mvsh10.dat", "mh", temperature_k=5)
    assert curve.temperature_k == pytest.approx(5.0, abs=0.01)
    at_top = curve.values[np.argmax(curve.fields_oe)]
    assert curve.fields_oe.max() == pytest.approx(70000, rel=1e-3) and 4.0 < at_top < 6.0
    # by hand: the two +-70 kOe readings, per Er (10.1 mg, 704.95 g/mol, one Er)
    rows = _raw_rows(real / "ErCOT2_mvsh10.dat", "DC Moment Fixed Ctr (emu)")  # the column lfjax prefers
    top = np.abs(np.abs(rows[:, 1]) - 70000) < 5
    by_hand = np.mean(np.sign(rows[top, 1]) * rows[top, 2]) / (10.1e-3 / 704.95) / NA_MUB_EMU_PER_MOL
    assert at_top == pytest.approx(by_hand, rel=2e-3)
    assert "mean of the rising and falling branches" in curve.source.segment
    assert any("differ" in w and "hysteresis" in w for w in curve.source.warnings)  # an open SMM loop at 5 K


def test_er2_dimer_vsm_scan_uses_its_virgin_branch(real):
    curve = read_curve(real / "Er2TMSCOT_I_mvsh8.dat", "mh", temperature_k=2, ions_per_formula=2)
    assert "virgin branch" in curve.source.segment and curve.n_points == 200
    assert np.all(np.diff(curve.fields_oe) > 0) and curve.fields_oe.max() > 68000
    top = curve.values[-5:].mean()
    assert 4.5 < top < 6.5  # mu_B per Er near 70 kOe
    half = curve.values[np.argmin(np.abs(curve.fields_oe - 10000))]
    assert 0.75 * top < half < top  # a strongly anisotropic Kramers ion: most of it by 1 T


def test_kerse2_m_of_h_is_smaller_along_c(real):
    kw = {"temperature_k": 2, "molar_mass_g_per_mol": 364.30, "h_max_oe": 55000}
    ab = read_curve(real / "KErSe2_Hparatoplate_12.07.2019.dc.dat", "mh", **kw)
    c = read_curve(real / "KErSe2_Hpertoplate_12.07.2019.dc.dat", "mh", **kw)
    for curve in (ab, c):
        assert curve.fields_oe.max() == pytest.approx(54000) and not any("falls" in w for w in curve.source.warnings)
    m_ab, m_c = ab.values[-1], c.values[-1]
    assert 6.0 < m_ab < 9.0 and 4.0 < m_c < 7.0 and m_c < 0.9 * m_ab
    # 54 kOe by hand: the two readings of the in-plane file, 0.560 mg of 364.30 g/mol
    expected = np.mean([6.252667e-02, 6.249161e-02]) / (0.560e-3 / 364.30) / NA_MUB_EMU_PER_MOL
    assert m_ab == pytest.approx(expected, rel=1e-6)
    untrimmed = read_curve(real / "KErSe2_Hpertoplate_12.07.2019.dc.dat", "mh", temperature_k=2, molar_mass_g_per_mol=364.30)
    assert any("M falls by" in w for w in untrimmed.source.warnings)  # the failed 57-60 kOe readings


def test_sweeps_at_two_temperatures_and_a_temperature_run_are_told_apart(tmp_path):
    """One file: M(T) at 1000 Oe, then continuous sweeps at 2 K and 5 K (many rows per field step)."""
    t_run = np.linspace(300, 2, 60)
    h_sweep = np.repeat(np.linspace(0, 40000, 41), 6)  # slow VSM-like sweep: 6 rows per field
    temps = np.concatenate([t_run, np.full(h_sweep.size, 2.0), np.full(h_sweep.size, 5.0)])
    fields = np.concatenate([np.full(t_run.size, 1000.0), h_sweep, h_sweep])
    moment = np.concatenate([1e-3 / t_run, 0.02 * _m(h_sweep), 0.01 * _m(h_sweep)])
    write_qd_dat(tmp_path / "all.dat", temps, fields, moment, mass_mg=1.0)
    kw = {"molar_mass_g_per_mol": 500.0}
    two = read_curve(tmp_path / "all.dat", "mh", temperature_k=2, **kw)
    five = read_curve(tmp_path / "all.dat", "mh", temperature_k=5, **kw)
    np.testing.assert_allclose(five.values, 0.5 * two.values, rtol=1e-6)
    assert two.n_points == 40 and np.all(two.temps_k == 2.0)  # 6 readings per field averaged; 0 Oe dropped
    chi = read_curve(tmp_path / "all.dat", "chi", **kw)
    assert chi.n_points == 60 and chi.field_oe == 1000
    with pytest.raises(ReaderError, match="holds 2 M\\(H\\) runs .* pick one with temperature_k"):
        read_curve(tmp_path / "all.dat", "mh", **kw)
