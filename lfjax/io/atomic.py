"""Atomic file output: write to a temporary file in the target folder, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from lfjax.errors import UserInputError


def _ordinary_mode(path) -> None:
    """Gives a temporary file the mode a plainly created file would have (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _writable_folder(folder: Path, what: str) -> None:
    """Creates `folder` if needed; a path the user cannot write to is a `UserInputError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
        raise UserInputError(
            f"cannot create the folder {folder} for {what} ({reason or exc}); choose a writable output path"
        ) from None


def _temporary(folder: Path, name: str, suffix: str) -> str:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    except OSError as exc:
        raise UserInputError(f"cannot write {name} in {folder} ({exc.strerror or exc}); choose a writable output path"
                             ) from None
    os.close(fd)
    return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path`; on success renames it onto `path`, else removes it.

    Raises:
      UserInputError: the target's folder cannot be created or written, or `path` is a folder.
    """
    target = Path(path)
    if target.is_dir():
        raise UserInputError(f"{target} is a folder; expected a file path to write")
    _writable_folder(target.parent, target.name)
    tmp = _temporary(target.parent, target.name, target.suffix or ".tmp")
    _ordinary_mode(tmp)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Saves a matplotlib figure atomically (format from the suffix of `path`)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt, bbox_inches="tight")


def write_files(out_dir: str | os.PathLike, writers: dict[str, "callable"]) -> list[Path]:
    """Writes several files into `out_dir` all-or-nothing.

    Each writer is called with a temporary path beside its target; only when every writer has
    succeeded are the files renamed onto their names, so a failure leaves `out_dir` as it was.

    Args:
      out_dir: the folder (created if missing).
      writers: file name -> function(path) that writes that file.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"output folder {out} is a file; expected a folder (new or existing)")
    _writable_folder(out, "the outputs")
    temps: dict[str, Path] = {}
    try:
        for name, write in writers.items():
            tmp = _temporary(out, name, Path(name).suffix)
            _ordinary_mode(tmp)
            temps[name] = Path(tmp)
            write(temps[name])
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
        return [out / name for name in writers]
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()
