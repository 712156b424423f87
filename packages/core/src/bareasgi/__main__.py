"""`python -m bareasgi plugins`: the installed plugins, their hooks and their options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import pluggy

from . import hookspecs
from .options import describe_options
from .plugins import _PluginManager, implemented_hooks, installed_plugins


def list_plugins(out: TextIO | None = None) -> int:
    write = (out or sys.stdout).write
    plugins = installed_plugins()
    if not plugins:
        write("No bareASGI plugins are installed.\n")
        return 0
    status = 0
    for name, entry_point in sorted(plugins.items()):
        dist = entry_point.dist
        dist_text = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        write(f"{name}  ({dist_text}; {entry_point.value})\n")
        try:
            plugin = entry_point.load()
            manager = _PluginManager(hookspecs.PROJECT_NAME)
            manager.add_hookspecs(hookspecs)
            manager.register(plugin, name=name)
            manager.check_pending()
            options_class = manager.hook.bareasgi_options_class()
        except (Exception, pluggy.PluginValidationError) as error:
            write(f"  cannot be loaded: {error}\n\n")
            status = 1
            continue
        write(f"  hooks: {', '.join(implemented_hooks(plugin)) or 'none'}\n")
        rows = describe_options(options_class)
        if not rows:
            write("  options: none\n\n")
            continue
        write("  options:\n")
        width = max(len(row[0]) for row in rows)
        for option, kind, default, doc in rows:
            line = f"    {option:<{width}}  {kind}, default {default}"
            write(f"{line}{'  ' + doc if doc else ''}\n")
        write("\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bareasgi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list installed plugins, their hooks and options")
    args = parser.parse_args(argv)
    if args.command == "plugins":
        return list_plugins()
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
