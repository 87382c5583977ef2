"""Make a release of the course: one version number, written everywhere it must appear.

    python scripts/release.py 0.3.0

The version lives in ``pyproject.toml``; this script copies it into ``utils/__init__.py``
(``__version__``) and into every notebook's setup cell (``RELEASE = "..."``), which installs
``git+<repository>@v<version>`` wherever the course package is missing or of another
release (on Colab). Then commit, tag and push the tag, so that the notebooks of this release
install exactly this code:

    git commit -am "Release 0.3.0" && git tag v0.3.0 && git push origin main v0.3.0

tests/test_execution_env.py checks that the three places agree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def release(version: str) -> list[Path]:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"release: expected a version like 0.3.0, got {version!r}")
    changed = []
    for path, pattern, new in [
        (ROOT / "pyproject.toml", r'^version = "[^"]*"', f'version = "{version}"'),
        (ROOT / "utils" / "__init__.py", r'^__version__ = "[^"]*"', f'__version__ = "{version}"'),
    ]:
        text = path.read_text()
        updated, n = re.subn(pattern, new, text, count=1, flags=re.M)
        if n != 1:
            raise SystemExit(f"release: no {pattern!r} in {path}")
        if updated != text:
            path.write_text(updated)
            changed.append(path)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        setup = next(c for c in nb.cells if c.cell_type == "code")
        source, n = re.subn(r'^RELEASE = "[^"]*"', f'RELEASE = "{version}"', setup.source, flags=re.M)
        if n != 1:
            raise SystemExit(f"release: the setup cell of {path.name} has no RELEASE line")
        if source != setup.source:
            setup.source = source
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="After it: commit, tag v<version> and push the tag.")
    parser.add_argument("version", help="the new version, e.g. 0.3.0")
    args = parser.parse_args(argv)
    for path in release(args.version):
        print(f"updated {path.relative_to(ROOT)}")
    v = args.version
    print(f"now: git commit -am 'Release {v}' && git tag v{v} && git push origin main v{v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
