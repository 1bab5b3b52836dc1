"""Build hook: ship the prompt templates inside the `pipeline` package.

`prompts/` stays at the top of the checkout (the source of truth that reviewers edit,
`aws s3 sync` uploads and tools/build_lambda.py bundles); a wheel carries a copy as
`pipeline/prompt_templates/`, read through importlib.resources (pipeline.resources).
Everything else about the build is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROMPTS = Path(__file__).resolve().parent / "prompts"
PACKAGED_AS = ("pipeline", "prompt_templates")


class BuildPyWithPrompts(build_py):
    """build_py, then prompts/**/*.j2 copied under pipeline/prompt_templates/."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib, *PACKAGED_AS)
        if target.exists():
            shutil.rmtree(target)
        for source in sorted(PROMPTS.rglob("*.j2")):
            copied = target / source.relative_to(PROMPTS)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copied)


setup(cmdclass={"build_py": BuildPyWithPrompts})
