"""Controller variants from git: `--ref NAME=GITREF` runs the controller of that commit, exported once with
`git archive` into the output directory (no worktree is registered, nothing in the repository changes), and
`--ref NAME=WORKTREE` runs the working tree as it is. Every variant runs with the same Python environment."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

from bench.scale.process import Variant, variant_name

WORKTREE = "WORKTREE"
DEFAULT_REFS = ("baseline=72a952e", f"current={WORKTREE}")  # 72a952e: the polling main of issue 12
CONTROLLER = (sys.executable, "-m", "rudder.controller")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValueError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout.strip()


def parse_ref(text: str) -> tuple[str, str]:
    """`NAME=GITREF` -> (name, ref); ValueError naming the text when malformed."""
    name, sep, ref = text.partition("=")
    if not sep or not ref.strip():
        raise ValueError(f"--ref {text!r}: expected NAME=GITREF (or NAME={WORKTREE})")
    return variant_name(name, f"--ref {text!r}"), ref.strip()


def export(repo: Path, commit: str, into: Path) -> Path:
    """The tree of `commit` under `into/<commit>` (exported once; reused by later runs)."""
    target = into / commit
    done = target / ".exported"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", "archive", "--format=tar", commit], cwd=repo, stdout=subprocess.PIPE)
    assert archive.stdout is not None
    with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
        tar.extractall(target, filter="data")
    if archive.wait() != 0:
        raise ValueError(f"git archive {commit} failed")
    done.write_text(commit + "\n")
    return target


def resolve(repo: Path, text: str, out_dir: Path) -> Variant:
    """The variant of `--ref NAME=GITREF`: the controller of that commit (or of the working tree)."""
    name, ref = parse_ref(text)
    if ref == WORKTREE:
        head = _git(repo, "rev-parse", "--short", "HEAD")
        dirty = "+dirty" if _git(repo, "status", "--porcelain", "--untracked-files=no") else ""
        return Variant(name, CONTROLLER, cwd=repo, source=f"working tree at {head}{dirty}")
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ValueError:
        raise ValueError(f"--ref {text!r}: {ref!r} is not a commit of {repo}") from None
    source = export(repo, commit, out_dir / "src")
    return Variant(name, CONTROLLER, cwd=source, source=f"commit {commit[:7]} ({ref})")


def check_imports_from(variant: Variant) -> None:
    """The controller must import from the variant's own tree, not from wherever the venv points."""
    if variant.cwd is None:
        return
    probe = "import rudder, canary; print(rudder.__file__); print(canary.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=variant.cwd, capture_output=True, text=True, check=False)
    paths = done.stdout.split()
    if done.returncode != 0 or not paths or not all(Path(p).resolve().is_relative_to(variant.cwd.resolve())
                                                    for p in paths):
        raise ValueError(f"variant {variant.name}: rudder does not import from {variant.cwd} "
                         f"({done.stdout.strip() or done.stderr.strip()})")
