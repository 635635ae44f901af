import os
import stat

import pytest

from lfjax.io.atomic import write_files, write_text


def test_write_text_replaces_whole_file_with_ordinary_mode(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_files_all_or_nothing(tmp_path):
    (tmp_path / "keep.json").write_text("old")

    def boom(path):
        raise ValueError("figure failed")

    with pytest.raises(ValueError, match="figure failed"):
        write_files(tmp_path, {"keep.json": lambda p: p.write_text("new"), "fig.png": boom})
    assert (tmp_path / "keep.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json"]
    write_files(tmp_path, {"keep.json": lambda p: p.write_text("new"), "b.txt": lambda p: p.write_text("b")})
    assert (tmp_path / "keep.json").read_text() == "new" and (tmp_path / "b.txt").read_text() == "b"
