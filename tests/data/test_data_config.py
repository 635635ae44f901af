import pytest

from lfjax.data.config import DataConfig


@pytest.mark.parametrize("field", ["sigma_dia_emu_per_mol", "sigma_m"])
def test_zero_sigma_refused_with_the_fix(field):
    with pytest.raises(ValueError, match="must be > 0.*1e-6"):
        DataConfig(**{field: 0.0})


@pytest.mark.parametrize("kwargs", [{"t_min_k": 0.0}, {"t_min_k": 400.0}, {"n_temps": 2}, {"d_max_k": -1.0}])
def test_bad_grid_or_prior_refused(kwargs):
    with pytest.raises(ValueError, match="data needs"):
        DataConfig(**kwargs)


def test_defaults_are_valid():
    cfg = DataConfig()
    assert cfg.temps_k()[0] == pytest.approx(1.8) and cfg.temps_k().size == 64
