"""The one build step pyproject.toml cannot say: copy the top-level templates/ and
examples/ into the package (bot/_shipped/), so a wheel carries them and an installed
pressbot finds them without the source tree (bot/resources.py looks there first).

The repository keeps them at the top level, where editors and designers look; an editable
install reads them there directly, so this copy is made only into the build folder."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "examples")


class BuildPyWithShippedFiles(build_py):
    def run(self):
        super().run()
        if self.editable_mode:   # the checkout's own folders are used as they are
            return
        target = Path(self.build_lib) / "bot" / "_shipped"
        for name in SHIPPED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; a wheel without it would not run")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithShippedFiles})
