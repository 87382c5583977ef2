"""The installable package ships every subpackage of utils (the notebooks' setup cell on
Colab runs a plain, non-editable `pip install` of the repository)."""

import tomllib

from setuptools import find_packages

from conftest import ROOT


def test_every_utils_subpackage_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(where=str(ROOT), include=include))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "utils").rglob("__init__.py")}
    assert on_disk <= shipped, f"not installed: {on_disk - shipped}"
    assert {"utils", "utils.exercises", "utils.optim"} <= on_disk
