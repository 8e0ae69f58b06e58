"""Pins down the profile format: per-tag profiles overlay the default field by field, bad documents
are rejected with the offending field named, and the profile file is re-read on change while a
broken edit is ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.profiles import Profile, ProfileError, ProfileFile, ProfileSet

DOC = """
default:
  errorRate: 0.01
  latency: {median: 0.05, sigma: 0.3}
versions:
  2.0: {errorRate: 0.25}
  "slow": {latency: {median: 0.4}}
"""


def test_versions_overlay_the_default() -> None:
    profiles = ProfileSet.from_yaml(DOC)
    assert profiles.default == Profile(0.01, 0.05, 0.3)
    assert profiles.for_tag("2.0") == Profile(0.25, 0.05, 0.3)  # unquoted YAML float tag is text
    assert profiles.for_tag("slow") == Profile(0.01, 0.4, 0.3)
    assert profiles.for_tag("unknown") == profiles.default


def test_empty_document_is_the_builtin_default() -> None:
    assert ProfileSet.from_yaml("") == ProfileSet()
    assert ProfileSet.from_yaml("{}").default == Profile()


def test_round_trip_through_dict() -> None:
    profiles = ProfileSet.from_yaml(DOC)
    assert ProfileSet.from_dict(profiles.to_dict()) == profiles


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("default: {errorRate: 1.5}", "errorRate must be within"),
        ("default: {errorrate: 0.1}", "unknown field(s) errorrate"),
        ("versions: {'2.0': {latency: {median: 0}}}", "versions.2.0"),
        ("versions: {'2.0': {latency: {sigma: -1}}}", "sigma"),
        ("versions: {'2.0': {errorRate: 'high'}}", "versions.2.0.errorRate: expected a number"),
        ("versions: [a, b]", "versions: expected a mapping"),
        ("rps: 3", "unknown field(s) rps"),
        ("- 1", "expected a mapping"),
        ("default: {errorRate: [", "not valid YAML"),
    ],
)
def test_invalid_documents_name_the_field(doc: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ProfileSet.from_yaml(doc)


def test_with_and_without_version() -> None:
    profiles = ProfileSet.from_yaml(DOC).with_version("3.0", {"errorRate": 0.5})
    assert profiles.for_tag("3.0") == Profile(0.5, 0.05, 0.3)
    assert profiles.without_version("3.0").for_tag("3.0") == profiles.default


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    # Move the mtime forward explicitly: two writes within one timestamp tick must still count.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_profile_file_reloads_on_change_and_ignores_broken_edits(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(DOC)
    watched = ProfileFile(path)
    assert watched.load().for_tag("2.0").error_rate == 0.25
    assert watched.poll() is None  # unchanged

    _rewrite(path, "versions: {'2.0': {errorRate: 0.9}}")
    reloaded = watched.poll()
    assert reloaded is not None
    assert reloaded.for_tag("2.0").error_rate == 0.9

    _rewrite(path, "versions: {'2.0': {errorRate: 9}}")
    assert watched.poll() is None  # broken: keep the last good profiles
    _rewrite(path, "versions: {'2.0': {errorRate: 0.5}}")
    fixed = watched.poll()
    assert fixed is not None
    assert fixed.for_tag("2.0").error_rate == 0.5


def test_missing_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ProfileFile(tmp_path / "nope.yaml").load()
