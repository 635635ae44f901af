"""Reports of the engines: the corner plot names the scale of parameters far from unity."""

import matplotlib
import numpy as np

from lfjax.engines import report

matplotlib.use("Agg")


def test_axis_scale_reads_parameters_without_offsets():
    assert report._axis_scale(np.array([2.2e-5, 2.6e-5])) == -5
    assert report._axis_scale(np.array([-0.0035, -0.0022])) == -3
    assert report._axis_scale(np.array([-0.031, -0.026])) == -2  # B40 of ErCOT2: "-3.1" not "-0.031"
    assert report._axis_scale(np.array([-0.85, 0.7])) == 0
    assert report._axis_scale(np.array([0.978, 0.986])) == 0
    assert report._axis_scale(np.array([12000.0])) == 4
    assert report._axis_scale(np.zeros(3)) == 0


def test_corner_labels_carry_the_power_of_ten_and_no_offset_text():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(-0.75, 0.03, 500), rng.normal(2.2e-5, 1.6e-6, 500), rng.normal(0.98, 0.001, 500)])
    fig = report.corner_figure(["B20", "B60", "f_m"], x)
    fig.canvas.draw()
    bottom = fig.axes[-3:]  # last row: B20, B60, f_m on x
    assert [ax.get_xlabel() for ax in bottom] == ["B20", "B60 (1e-5)", "f_m"]
    assert all(ax.xaxis.get_offset_text().get_text() == "" for ax in fig.axes)
    assert all(ax.yaxis.get_offset_text().get_text() == "" for ax in fig.axes)
    grid = np.array(fig.axes).reshape(3, 3)
    for i in range(3):
        for j in range(i + 1):  # outer panels only carry tick labels: none spill into a neighbour
            shown_y = any(t.get_visible() and t.get_text() for t in grid[i, j].get_yticklabels())
            shown_x = any(t.get_visible() and t.get_text() for t in grid[i, j].get_xticklabels())
            assert shown_y == (j == 0 and i > 0) and shown_x == (i == 2), (i, j)
    plt.close(fig)
