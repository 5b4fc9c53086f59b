"""Draw chart PNGs with vl-convert, in a process of its own (run by :mod:`podium.report.markdown`).

vl-convert is native code: some input makes it abort the whole process rather than raise
(a control character in a label did). Drawing here, in a child process, means such a failure
costs one download its images, never the app or the CLI that asked for them.

Reads ``{"scale": n, "charts": {file name: Vega-Lite spec}}`` as JSON on stdin and writes each
PNG into the folder given as the only argument. Imports nothing from Podium, so it starts fast.
"""

import json
import sys
from pathlib import Path


def main() -> int:
    import vl_convert as vlc

    folder = Path(sys.argv[1])
    job = json.load(sys.stdin)
    for name, spec in job["charts"].items():
        (folder / name).write_bytes(vlc.vegalite_to_png(spec, scale=job.get("scale", 2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
