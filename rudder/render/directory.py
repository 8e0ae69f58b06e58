"""Reading a chart directory from disk (for `rudder template` / `rudder package` and tests)."""

from __future__ import annotations

from pathlib import Path

from rudder.render.chart import CHART_FILE, TEMPLATES_DIR, VALUES_FILE

_MAX_FILE_BYTES = 2 * 1024 * 1024


def read_chart_directory(root: Path) -> dict[str, str]:
    """`path -> text` of a chart directory's Chart.yaml, values.yaml and templates/ (recursively).

    Other files (README, charts/, .helmignore) are left out; symlinks are not followed out of the chart.
    Raises OSError/UnicodeDecodeError/ValueError for unreadable or oversized files.
    """
    files: dict[str, str] = {}
    for name in (CHART_FILE, VALUES_FILE):
        path = root / name
        if path.is_file():
            files[name] = _read(path)
    templates = root / TEMPLATES_DIR
    if templates.is_dir():
        resolved_root = root.resolve()
        for path in sorted(templates.rglob("*")):
            if not path.is_file():
                continue
            if not path.resolve().is_relative_to(resolved_root):
                raise ValueError(f"{path} points outside the chart directory")
            files[path.relative_to(root).as_posix()] = _read(path)
    return files


def _read(path: Path) -> str:
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    return path.read_text(encoding="utf-8")
