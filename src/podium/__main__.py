"""``python -m podium`` entry point."""

from podium.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
