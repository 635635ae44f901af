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


def test_unwritable_targets_are_user_input_errors(tmp_path):
    from lfjax.errors import UserInputError

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(UserInputError, match="cannot create the folder .*a-file"):
        write_text(blocker / "sub" / "out.txt", "y")
    with pytest.raises(UserInputError, match="is a folder; expected a file path"):
        write_text(tmp_path, "y")
    with pytest.raises(UserInputError, match="output folder .*a-file is a file"):
        write_files(blocker, {"b.txt": lambda p: p.write_text("b")})
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_missing_measurement_file_is_a_reader_error(tmp_path):
    from lfjax.errors import ReaderError
    from lfjax.io.readers import read_measurement

    with pytest.raises(ReaderError, match="cannot read .*nope.dat"):
        read_measurement(tmp_path / "nope.dat")
    with pytest.raises(ReaderError, match="cannot read"):
        read_measurement(tmp_path)  # a folder
