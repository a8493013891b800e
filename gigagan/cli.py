"""The ``gigagan`` command line.

Each area of the package registers its own sub-commands through an
``add_parser(subparsers)`` function; this file only wires them together and turns
user errors (bad paths, bad config values, damaged files) into one clear line
and a non-zero exit code instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# Modules that contribute sub-commands, each with ``add_parser(subparsers)``.
COMMAND_MODULES = [
    "gigagan.data.cli",
    "gigagan.training.cli",
    "gigagan.evaluate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gigagan",
        description="GigaGAN: data generation, training, sampling and evaluation.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        import_module(name).add_parser(subparsers)
    return parser


def _version() -> str:
    from gigagan import __version__

    return f"gigagan {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, FileExistsError) as err:
        print(f"gigagan {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gigagan {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
