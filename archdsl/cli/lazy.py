"""The typer app behind ``archdsl``, with a root group that loads command modules on demand.

Importing every command module (and through them rich, pydantic, the lint engine, the bench
package) cost most of ``archdsl``'s start-up whatever command ran. :class:`LazyGroup` lists the
commands from :data:`archdsl.cli.COMMANDS` and imports a command's module only when click looks
the command up to run it (or to print its ``--help``); the module registers its commands on the
app with ``@app.command`` as before, and the group turns the new registrations into click commands
with typer's own converters, so options, help and errors are exactly what typer makes.

The root ``--help`` needs only each command's short help: it is cut from the first paragraph in
:data:`~archdsl.cli.COMMANDS` by click's own rule, so no command module is imported for it.
"""

from __future__ import annotations

import importlib

import typer
import typer.main
from typer import _click
from typer.core import TyperCommand, TyperGroup


class LazyGroup(TyperGroup):
    """A root group whose commands are the names of :data:`archdsl.cli.COMMANDS`, loaded when used."""

    def list_commands(self, ctx) -> list[str]:
        from archdsl.cli import COMMANDS

        return list(COMMANDS)

    def get_command(self, ctx, cmd_name: str):
        from archdsl.cli import COMMANDS

        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self._load(COMMANDS[cmd_name][0])
        return self.commands.get(cmd_name)

    def _load(self, module: str) -> None:
        """Import ``module`` and add the commands and groups it registered on the app."""
        from archdsl.cli import get_app

        importlib.import_module(module)
        app = get_app()
        opts = {"pretty_exceptions_short": app.pretty_exceptions_short, "rich_markup_mode": app.rich_markup_mode}
        for info in app.registered_commands:
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            if name not in self.commands:
                self.commands[name] = typer.main.get_command_from_info(info, **opts)
        for info in app.registered_groups:
            if info.name not in self.commands:
                group = typer.main.get_group_from_info(info, suggest_commands=app.suggest_commands, **opts)
                self.commands[info.name] = group

    def resolve_command(self, ctx, args: list[str]):
        """As typer's, with the did-you-mean over every command, loaded or not."""
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as e:
            from difflib import get_close_matches

            from archdsl.cli import COMMANDS

            matches = get_close_matches(args[0], list(COMMANDS)) if self.suggest_commands and args else []
            if matches:
                e.message = f"{e.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise

    def format_commands(self, ctx, formatter) -> None:
        """The command list of ``archdsl --help``, from the table: nothing imported."""
        from archdsl.cli import COMMANDS

        stubs = TyperGroup(name=self.name, commands=[TyperCommand(name=n, help=h) for n, (_, h) in COMMANDS.items()])
        TyperGroup.format_commands(stubs, ctx, formatter)


def make_app(help: str, version: str) -> typer.Typer:
    app = typer.Typer(
        name="archdsl",
        cls=LazyGroup,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def _version(value: bool) -> None:
        if value:
            typer.echo(f"archdsl {version}")
            raise typer.Exit()

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    ) -> None:
        from archdsl.fileio import forget_inputs

        forget_inputs()  # each command is a run of its own (tests invoke many in one process)

    return app


class DefaultRunGroup(TyperGroup):
    """``archdsl X ARGS`` runs ``archdsl X run ARGS`` unless ARGS starts with a sub-command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def default_run_group(help: str) -> typer.Typer:
    """A command group whose sub-command ``run`` is the default (``archdsl bench``, ``archdsl explore``)."""
    return typer.Typer(
        cls=DefaultRunGroup,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        help=help,
    )
