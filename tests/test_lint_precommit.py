"""A real pre-commit run of the published hook: ``pre-commit try-repo <archdsl> archdsl-lint``.

pre-commit installs archdsl from a git repository into a fresh virtualenv (``language: python``),
exactly as a user's repository would. To test this working tree (committed or not, new files
included) the test copies the installable parts of it into a throwaway git repository first. The
install fetches lark, pydantic and typer from the package index (reachable in CI); about 20 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "archdsl-tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "archdsl-tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _hook_repo(dest: Path) -> Path:
    dest.mkdir()
    for name in ("pyproject.toml", ".pre-commit-hooks.yaml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for folder in ("archdsl", "grammars", "backends"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "hook repository under test")
    return dest


def test_pre_commit_try_repo(tmp_path):
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    hooks = _hook_repo(tmp_path / "archdsl")
    user = tmp_path / "user"
    user.mkdir()
    shutil.copy2(ROOT / "specs" / "attendnext.arch", user / "attendnext.arch")
    (user / "bad.arch").write_text(
        "net bad {\n    input image [3, 32, 32]\n    meta { imagenet_top1 = 76.0 }\n"
        "    stem = conv(16, k = 1, s = 2) -> bn -> relu\n    head = gap -> flatten -> linear(10)\n}\n"
    )
    (user / "pyproject.toml").write_text('[tool.archdsl.lint]\nselect = ["AD"]\n')
    _git(user, "init", "-q")
    _git(user, "add", "-A")
    _git(user, "commit", "-q", "-m", "specs")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)

    def try_repo(*files: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "archdsl-lint", "--files", *files]
        return subprocess.run(cmd, cwd=user, env=env, capture_output=True, text=True, timeout=300)

    res = try_repo("attendnext.arch", "bad.arch")
    out = res.stdout + res.stderr
    assert "archdsl lint" in out, out
    assert res.returncode == 1, out
    assert "Failed" in out and "bad.arch:4:12: error[AD102]" in out, out
    assert "attendnext.arch:" not in out, "AttendNeXt is clean under the paper's rules"
