"""``python -m podium demo``: seed a store with the demo, print progress and a summary."""

from __future__ import annotations

import os


def add_arguments(parser) -> None:
    """Add the ``demo`` subcommand's options to ``parser``."""
    parser.add_argument("--tracking-uri", default=None,
                        help="store to seed (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--force", action="store_true",
                        help="write even if the store already holds experiments")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each hyperparameter grid to train, in (0, 1] (default 1)")


def run(args) -> int:
    """Run ``python -m podium demo``: seed the store, print progress and a summary."""
    from podium.config import resolve_tracking_uri
    from podium.demo.seeder import seed_demo

    # The demo needs no network; keep MLflow from trying to phone home while it runs.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    summary = seed_demo(resolve_tracking_uri(args.tracking_uri), force=args.force, scale=args.scale,
                        progress=lambda line: print(line, flush=True))
    for line in summary.lines():
        print(line)
    print(f"Open it in Podium: python -m podium serve --tracking-uri '{summary.tracking_uri}'")
    return 0
