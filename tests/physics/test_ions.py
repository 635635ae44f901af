import pytest

from lfjax.physics.ions import IonError, ion


@pytest.mark.parametrize("name", ["Er3+", "Er", "Er(III)", "er", "Er III", "Er+3"])
def test_er_spellings(name):
    er = ion(name)
    assert (er.name, er.j, er.g, er.dim, er.kramers) == ("Er3+", 7.5, 1.2, 16, True)


def test_free_ion_curie_constant_er():
    assert ion("Er").curie_constant == pytest.approx(11.48, abs=0.005)


@pytest.mark.parametrize(
    "name,j,g",
    [("Ce", 2.5, 6 / 7), ("Pr", 4, 4 / 5), ("Nd", 4.5, 8 / 11), ("Pm", 4, 3 / 5), ("Sm", 2.5, 2 / 7),
     ("Gd", 3.5, 2), ("Tb", 6, 1.5), ("Dy", 7.5, 4 / 3), ("Ho", 8, 1.25), ("Tm", 6, 7 / 6), ("Yb", 3.5, 8 / 7)],
)
def test_table(name, j, g):
    the_ion = ion(name + "3+")
    assert the_ion.j == j and the_ion.g == pytest.approx(g)
    assert the_ion.kramers == (int(2 * j) % 2 == 1)


def test_europium_refused_with_reason():
    with pytest.raises(IonError, match="J = 0"):
        ion("Eu3+")


def test_custom_ion():
    cr = ion("3/2", g=2.0)
    assert (cr.j, cr.g, cr.dim) == (1.5, 2.0, 4)
    assert ion(0.5, g=2).dim == 2


@pytest.mark.parametrize("args", [("Xx",), ("1.3", 2.0), ("2",), ("Er", 2.0), ("2", -1.0), ("0", 2.0)])
def test_bad_ions(args):
    with pytest.raises(IonError):
        ion(*args)
