import json

import jax
import numpy as np
import pytest

import lfjax
from lfjax.errors import ParameterError
from lfjax.physics import chi_t_powder, hamiltonian, ion
from lfjax.spec import ModelSpec, model_spec


def test_default_is_the_second_order_model():
    spec = model_spec("Er3+")
    assert spec.preset == "DE" and spec.names == ("D", "E") and spec.n_params == 2
    assert spec.maps_array().shape == (6, 2, 2)
    assert spec.ranges[0] == pytest.approx((-500 * 3 / 168, 500 * 3 / 168))


def test_round_trip_through_json_and_hashable():
    for preset in ("cubic", "D3d", "general"):
        spec = model_spec("Er", preset=preset, scale_k={2: 300.0, 4: 400.0, 6: 500.0})
        again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec and hash(again) == hash(spec)
        assert len({spec, again}) == 1
    with pytest.raises(ParameterError, match="model specification"):
        ModelSpec.from_dict({"names": ["D"]})


def test_arrays_read_only():
    spec = model_spec("Dy", preset="D4h")
    arr = spec.maps_array()
    assert arr.shape == (2, 5, 5) and np.array_equal(arr[0], np.eye(5))
    with pytest.raises(ValueError):
        arr[0, 0, 0] = 2.0
    with pytest.raises(ValueError):
        spec.constraint_array()[0, 0] = 2.0


def test_cubic_constraint_applied(x64):
    spec = model_spec("Er", preset="cubic")
    theta = np.array([0.01, 2e-5])
    params = spec.stevens_params(theta)
    assert params["B44"] == pytest.approx(5 * 0.01) and params["B64"] == pytest.approx(-21 * 2e-5)
    h = np.asarray(hamiltonian(ion("Er"), params))
    explicit = np.asarray(hamiltonian(ion("Er"), {"B40": 0.01, "B44": 0.05, "B60": 2e-5, "B64": -4.2e-4}))
    assert np.allclose(h, explicit, atol=1e-12)
    # the cubic field leaves chi isotropic (an independent check of the constraint)
    axes = np.asarray(lfjax.chi_axes(ion("Er"), params, np.array([2.0, 20.0])))
    assert np.allclose(axes, axes[..., :1], rtol=1e-9)


def test_d_e_become_b20_b22_and_work_under_jit(x64):
    spec = model_spec("Er", names=["D", "E"])
    temps = np.array([2.0, 50.0])
    theta = np.array([[-6.0, 1.0], [3.0, 0.5]])
    f = jax.jit(lambda t: chi_t_powder(ion("Er"), spec.stevens_params(t), temps))
    ref = chi_t_powder(ion("Er"), {"D": theta[:, 0], "E": theta[:, 1]}, temps)
    assert np.allclose(f(theta), ref, rtol=1e-12)


def test_ion_drops_terms_and_keeps_note():
    spec = model_spec("Ce", preset="D3d")
    assert spec.names == ("B20", "B40", "B43") and "k > 2J" in spec.notes[0]
    assert spec.maps_array().shape == (2, 3, 3)


def test_ranges_override_and_errors():
    spec = model_spec("Er", preset="axial", ranges={"b20": (-1.0, 2.0)})
    assert spec.ranges[0] == (-1.0, 2.0)
    assert spec.high[1] == pytest.approx(500 / 29640)
    with pytest.raises(ParameterError, match="not a parameter"):
        model_spec("Er", preset="axial", ranges={"B43": (-1, 1)})
    with pytest.raises(ParameterError, match="low < high"):
        model_spec("Er", preset="axial", ranges={"B20": (1, -1)})
    with pytest.raises(ParameterError, match="not both"):
        model_spec("Er", preset="axial", names=["B20"])
    with pytest.raises(ParameterError, match="expected 3 values"):
        spec.stevens_params(np.zeros(2))
