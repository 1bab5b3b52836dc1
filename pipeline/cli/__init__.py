"""`parley` command line. Each command area lives in its own module, loaded lazily
so that `parley --help` stays fast and one area's imports never slow another."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import ParleyError
from .failures import one_line

# command name -> "module:attribute" (a click command or group)
COMMANDS: dict[str, str] = {
    "demo": "pipeline.cli.demo:demo",
    "moderate": "pipeline.cli.moderate:moderate",
    "history": "pipeline.cli.history:history",
    "prompts": "pipeline.cli.prompts:prompts",
    "emulator": "pipeline.cli.emulator:emulator",
    "baseline": "pipeline.cli.baseline:baseline",
    "stream": "pipeline.cli.stream:stream",
    "skill": "pipeline.cli.skill:skill",
    "eval": "pipeline.cli.evaluate:evaluate",
    "review": "pipeline.cli.review:review",
    "models": "pipeline.cli.models:models",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name, quiet=True) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str, *, quiet: bool = False) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if quiet and exc.name == module_name:
                return None  # an area not installed in this build
            raise
        command: click.Command = getattr(module, attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="parley")
def cli() -> None:
    """parley: catch scams in conversations, answer voice requests safely, and
    prove with evaluations that a new prompt is better before it ships."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: parley errors, and the outside errors a user's setting causes
    (`failures.one_line`), become one line on stderr and exit code 2."""
    try:
        return cli.main(args=argv, standalone_mode=False)
    except ParleyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # a bad option value or argument: one line, too
        where = f"parley {exc.ctx.command_path.partition(' ')[2]}".strip() if exc.ctx else "parley"
        click.echo(f"error: {where}: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # settings, region, credentials, endpoint, table: one line
        line = one_line(exc)
        if line is None:
            raise
        click.echo(f"error: {line}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
