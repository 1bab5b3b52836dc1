"""Where the data that ships with parley lives: prompt templates and the baseline artifact.

Both are package data read through `importlib.resources`, so an installed wheel finds
them inside `site-packages/pipeline/` whatever the working directory. The prompt
templates' source is the checkout's top-level `prompts/`; a wheel carries a copy as
`pipeline/prompt_templates/` (setup.py). A checkout or editable install has no copy and
reads `prompts/` itself.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGED_PROMPTS = "prompt_templates"
BASELINE_ARTIFACT = ("data", "baseline.json.gz")
CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def _package_dir() -> Path:
    # `pipeline` is a regular package on the file system (wheels are installed unpacked).
    return Path(str(files("pipeline")))


def default_prompts_dir() -> Path:
    """The prompt templates of this installation: the wheel's copy, else the checkout's."""
    packaged = _package_dir() / PACKAGED_PROMPTS
    if packaged.is_dir():
        return packaged
    return CHECKOUT_ROOT / "prompts"


def baseline_artifact() -> Path:
    """The trained local baseline that ships in the package."""
    return _package_dir().joinpath(*BASELINE_ARTIFACT)
