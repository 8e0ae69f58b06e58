"""Pins down how the simulator reads pods: readiness as endpoints count it, the track label, and
the version (image tag of the main container) that profiles are keyed by."""

from __future__ import annotations

import pytest

from simulator.pods import image_tag, is_ready, parse_pod, selector_matches
from tests.unit.simulator.factories import pod


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("registry.k8s.io/pause:3.10", "3.10"),
        ("nginx", "latest"),
        ("localhost:5000/team/web", "latest"),
        ("localhost:5000/team/web:2.0-rc1", "2.0-rc1"),
        ("web:1.2@sha256:abc", "1.2"),
        ("web@sha256:abc", "sha256:abc"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_ready_needs_running_ready_and_not_terminating() -> None:
    assert is_ready(pod("a", {}))
    assert not is_ready(pod("a", {}, ready=False))
    assert not is_ready(pod("a", {}, phase="Pending"))
    assert not is_ready(pod("a", {}, terminating=True))


def test_track_defaults_to_primary() -> None:
    assert parse_pod(pod("a", {"app": "web"})).track == "primary"
    assert parse_pod(pod("a", {"rudder.dev/track": "canary"})).track == "canary"


def test_main_container_is_the_default_container_annotation_else_the_first() -> None:
    raw = pod("a", {}, image="example/web:1.0")
    raw["spec"]["containers"].insert(0, {"name": "proxy", "image": "envoy:1.30"})
    assert parse_pod(raw).tag == "1.30"
    raw["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "app"}
    assert parse_pod(raw).tag == "1.0"


def test_selector_is_equality_based_and_empty_selects_nothing() -> None:
    assert selector_matches({"app": "web"}, {"app": "web", "x": "y"})
    assert not selector_matches({"app": "web", "rudder.dev/track": "canary"}, {"app": "web"})
    assert not selector_matches({}, {"app": "web"})
