"""Command line: ``python -m podium demo|report|champion ...``.

Each subcommand lives in its own core module, which provides ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them together. A :class:`PodiumError` becomes a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from podium import __version__
from podium.config import redact_uri
from podium.errors import PodiumError

# subcommand -> (module, help). Each module adds its own arguments and runs its subcommand.
SUBCOMMANDS = {
    "serve": ("podium.serve", "open the Podium app (seeds the demo store on a first run)"),
    "demo": ("podium.demo", "seed a store with real scikit-learn training runs"),
    "report": ("podium.report.cli", "write a Markdown or HTML team report"),
    "champion": ("podium.champion", "rank runs by a policy and promote the champion model"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m podium",
        description="Podium: compare MLflow runs, write team reports and pick the champion model.",
    )
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except PodiumError as exc:
        print(f"podium {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or a failure we did not foresee: still one line, no secret
        print(f"podium {args.command}: error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 2


def one_line(exc: BaseException) -> str:
    """An error's message on one line, every credential redacted."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact_uri(text)
