"""Atomic file output: write to a temporary file in the target folder, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _ordinary_mode(path) -> None:
    """Gives a temporary file the mode a plainly created file would have (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path beside `path`; on success renames it onto `path`, else removes it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix or ".tmp", dir=target.parent)
    os.close(fd)
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
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=Path(name).suffix, dir=out)
            os.close(fd)
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
