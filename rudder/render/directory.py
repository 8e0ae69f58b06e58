"""Reading a chart directory from disk (for `rudder template` / `rudder package` and tests)."""

from __future__ import annotations

from pathlib import Path

from rudder.render.chart import CHART_FILE, TEMPLATES_DIR, VALUES_FILE

_MAX_FILE_BYTES = 2 * 1024 * 1024


class ChartPathError(ValueError):
    """A chart file that must not be read: a link leading out of the chart, or an oversized file."""


def read_chart_directory(root: Path) -> dict[str, str]:
    """`path -> text` of a chart directory's Chart.yaml, values.yaml and templates/ (recursively).

    Other files (README, charts/, .helmignore) are left out. A symlink may point inside the chart, never out
    of it (Chart.yaml, values.yaml, templates/ itself or any file under it): `rudder package` would otherwise
    embed whatever it points at, e.g. a kubeconfig. Raises ChartPathError (a ValueError) naming the file,
    OSError or UnicodeDecodeError for unreadable files.
    """
    resolved_root = root.resolve()
    files: dict[str, str] = {}
    for name in (CHART_FILE, VALUES_FILE):
        path = root / name
        _check_inside(path, resolved_root)
        if path.is_file():
            files[name] = _read(path)
    templates = root / TEMPLATES_DIR
    _check_inside(templates, resolved_root)
    if templates.is_dir():
        for path in sorted(templates.rglob("*")):
            _check_inside(path, resolved_root)
            if path.is_file():
                files[path.relative_to(root).as_posix()] = _read(path)
    return files


def _check_inside(path: Path, resolved_root: Path) -> None:
    if not (path.is_symlink() or path.exists()):
        return
    if not path.resolve().is_relative_to(resolved_root):
        raise ChartPathError(f"{path}: a symbolic link to outside the chart directory; copy the file in instead")


def _read(path: Path) -> str:
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise ChartPathError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return path.read_text(encoding="utf-8")
