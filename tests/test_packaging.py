"""Every Python package of the source tree is listed in pyproject.toml's ``packages``.

setuptools installs only the listed packages: an editable install hides a missing entry (the source
tree is on the path), a wheel does not (``archdsl fmt`` would fail with ModuleNotFoundError).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    missing = []
    for name, folder in config["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / folder)
            if "__pycache__" in rel.parts:
                continue
            dotted = ".".join((name, *rel.parts))
            if dotted not in listed:
                missing.append(dotted)
    assert not missing, f"packages missing from pyproject.toml [tool.setuptools] packages: {missing}"


def test_listed_packages_exist():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = config["package-dir"]
    for dotted in config["packages"]:
        top, *rest = dotted.split(".")
        assert (ROOT / dirs[top] / Path(*rest) / "__init__.py").is_file(), dotted
