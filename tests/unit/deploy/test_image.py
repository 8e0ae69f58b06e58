"""deploy/Dockerfile builds a controller image that runs as a numeric non-root user, writes no
bytecode beside the code (read-only root filesystem), fetches nothing at run time and starts
`rudder-controller`; its ignore file sends exactly the package sources and metadata the install
step needs. (The install step itself runs in a clean virtualenv in tests/integration/test_deploy.py.)"""

from __future__ import annotations

import re
import tomllib

from tests.unit.deploy.manifests import IGNORE_FILE, REPO, build_context, instructions


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_final_stage_runs_the_controller_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    users = [args for word, args in stage if word == "USER"]
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric, so the kubelet can check runAsNonRoot"
    assert ("ENTRYPOINT", '["rudder-controller"]') in stage
    env = " ".join(args for word, args in stage if word == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env and "HOME=/tmp" in env, "the only writable path is the /tmp emptyDir"


def test_nothing_is_fetched_and_base_images_are_pinned() -> None:
    steps = instructions()
    assert not any(word == "ADD" for word, _ in steps), "ADD may fetch URLs; COPY only"
    for word, args in steps:
        if word == "RUN":
            assert not re.search(r"\b(curl|wget|git clone)\b", args), args
    args = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    image = args["PYTHON_IMAGE"]
    assert ":" in image and not image.endswith(":latest")
    python = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = python.removeprefix(">=")
    assert image.split(":")[1].startswith(minimum), f"{image} runs the Python pyproject.toml requires ({python})"


def test_build_context_holds_what_the_install_step_needs() -> None:
    context = build_context(REPO, IGNORE_FILE)
    assert {"pyproject.toml", "README.md"} <= set(context), "pyproject.toml names README.md as the readme"
    for package in ("rudder", "canary"):
        sources = sorted(p.relative_to(REPO).as_posix() for p in (REPO / package).rglob("*.py")
                         if "__pycache__" not in p.parts)
        assert set(sources) <= set(context), package
    assert not [f for f in context if "__pycache__" in f or f.endswith(".pyc")]
    assert not [f for f in context if f.startswith((".venv/", "tests/", "deploy/", "out/", ".git/"))]
    copied = [src for word, args in instructions() if word == "COPY" and "--from" not in args
              for src in args.split()[:-1]]
    assert {"pyproject.toml", "README.md", "rudder", "canary"} <= set(copied)
    assert all(any(f == src or f.startswith(src + "/") for f in context) for src in copied), copied
