"""`python -m bareasgi plugins`: the installed plugins, their hooks and their options.
`python -m bareasgi serve module:app`: serve an application with hypercorn, with a bounded
graceful shutdown."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

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


def add_serve_parser(commands: Any) -> None:
    from .serve import DEFAULT_BIND, DEFAULT_GRACE

    serve = commands.add_parser(
        "serve",
        help="serve module:app with hypercorn; SIGTERM/SIGINT shut down within --grace",
        description=(
            "Serve an ASGI application with hypercorn. On SIGTERM or SIGINT: stop accepting, "
            "give requests in flight --grace seconds, cancel what is left (503 for requests "
            "not yet answered, WebSockets closed with 1001), run the shutdown hooks, exit."
        ),
    )
    serve.add_argument("app", help="the application, as module:attribute")
    serve.add_argument(
        "--bind",
        action="append",
        help=f"HOST:PORT, unix:PATH or fd://N; repeatable (default {DEFAULT_BIND})",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the sockets (default 1)"
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help=f"seconds requests in flight have to finish at shutdown (default {DEFAULT_GRACE:g})",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
        help="default info",
    )


def serve_command(args: argparse.Namespace) -> int:
    from .serve import DEFAULT_BIND, run

    if args.workers < 1 or args.grace < 0:
        sys.stderr.write("--workers must be 1 or more and --grace 0 or more\n")
        return 2
    try:
        return run(
            args.app,
            bind=args.bind or [DEFAULT_BIND],
            workers=args.workers,
            grace=args.grace,
            log_level=args.log_level,
        )
    except (ImportError, ValueError) as error:
        sys.stderr.write(f"cannot serve {args.app}: {error}\n")
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bareasgi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list installed plugins, their hooks and options")
    add_serve_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "plugins":
        return list_plugins()
    if args.command == "serve":
        return serve_command(args)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
