"""Chart archives (base64 of a gzip tar of a chart directory), unpacked in memory with limits.

Nothing is written to disk. Members with absolute paths, `..`, links or devices are rejected, and the
unpacked size is bounded while decompressing, so a gzip bomb stops at the limit instead of exhausting memory.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import posixpath
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from rudder.render.errors import RenderError

_SOURCE = "spec.chart.archive"


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on an archive; the defaults are far above any real chart and far below memory trouble."""

    max_encoded_bytes: int = 4 * 1024 * 1024
    max_unpacked_bytes: int = 16 * 1024 * 1024
    max_members: int = 2000
    max_file_bytes: int = 2 * 1024 * 1024


def _gunzip_bounded(data: bytes, limit: int) -> bytes | RenderError:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        return RenderError(_SOURCE, None, f"not gzip data: {exc}")
    if len(out) > limit or inflater.unconsumed_tail:
        return RenderError(_SOURCE, None, f"unpacks to more than {limit} bytes")
    return out


def _safe_path(name: str) -> str | None:
    if name.startswith("/") or "\\" in name:
        return None
    normal = posixpath.normpath(name)
    if normal == "." or normal.startswith("../") or normal == ".." or "/../" in f"/{normal}/":
        return None
    return normal


def unpack_archive(encoded: str, limits: ArchiveLimits) -> dict[str, str] | RenderError:
    """Unpack an archive into `path -> text`, relative to the chart directory.

    A single top-level directory holding Chart.yaml (as `helm package` makes) is stripped. Non-text files
    outside templates/ are skipped; a non-text template is an error.
    """
    if len(encoded) > limits.max_encoded_bytes:
        return RenderError(_SOURCE, None, f"larger than {limits.max_encoded_bytes} bytes")
    try:
        compressed = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        return RenderError(_SOURCE, None, "not valid base64")
    raw = _gunzip_bounded(compressed, limits.max_unpacked_bytes)
    if isinstance(raw, RenderError):
        return raw
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for count, member in enumerate(tar):
                if count >= limits.max_members:
                    return RenderError(_SOURCE, None, f"more than {limits.max_members} entries")
                if member.isdir():
                    continue
                path = _safe_path(member.name)
                if path is None:
                    return RenderError(_SOURCE, None, f"unsafe path {member.name!r}")
                if not member.isfile():
                    return RenderError(_SOURCE, None, f"{path} is a link or device; only files allowed")
                if member.size > limits.max_file_bytes:
                    return RenderError(_SOURCE, None, f"{path} is larger than {limits.max_file_bytes} bytes")
                handle = tar.extractfile(member)
                files[path] = handle.read() if handle is not None else b""
    except tarfile.TarError as exc:
        return RenderError(_SOURCE, None, f"not a tar archive: {exc}")
    return _as_chart_texts(_strip_top_directory(files))


def _strip_top_directory(files: Mapping[str, bytes]) -> dict[str, bytes]:
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) == 1 and all("/" in path for path in files):
        top = tops.pop()
        if f"{top}/Chart.yaml" in files or any(p.startswith(f"{top}/templates/") for p in files):
            return {path.split("/", 1)[1]: data for path, data in files.items()}
    return dict(files)


def _as_chart_texts(files: Mapping[str, bytes]) -> dict[str, str] | RenderError:
    texts: dict[str, str] = {}
    for path, data in files.items():
        try:
            texts[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            if path.startswith("templates/") or path in ("Chart.yaml", "values.yaml"):
                return RenderError(_SOURCE, None, f"{path} is not UTF-8 text")
    return texts


def pack_chart_archive(files: Mapping[str, str], top_directory: str) -> str:
    """Pack `path -> text` files under `top_directory/` into a base64 gzip tar.

    The result is byte-for-byte reproducible (sorted members, zero timestamps and owners), so packaging the
    same chart twice gives the same Release content digest.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path].encode("utf-8")
            info = tarfile.TarInfo(f"{top_directory}/{path}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(buffer.getvalue(), mtime=0)
    return base64.b64encode(compressed).decode()
