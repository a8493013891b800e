"""Speed of the procedural scenes: images per second at 32, 64, 128 and 256 px.

    python benchmarks/bench_data.py            # full run, about a minute on 2 cores
    python benchmarks/bench_data.py --smoke    # seconds, for CI

Prints a markdown table and writes it as JSON (with the machine, versions,
command and date) to benchmarks/results/data.json (with --smoke to data-smoke.tmp,
which git ignores).
"render" is numpy rendering alone; "write" adds PNG encoding and metadata.jsonl,
i.e. ``gigagan data procedural``.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL

import gigagan
from gigagan.data import procedural

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_results  # noqa: E402

FULL = {32: 5000, 64: 5000, 128: 1000, 256: 250}
SMOKE = {32: 200, 64: 200, 128: 40, 256: 10}


def time_render(size: int, n: int) -> float:
    chunk = max(8, 2**22 // (size * size))
    start = time.perf_counter()
    for first in range(0, n, chunk):
        procedural.make_batch(0, range(first, min(n, first + chunk)), size)
    return time.perf_counter() - start


def time_write(size: int, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        procedural.write_folder(Path(tmp) / "scenes", n, size, progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few images per size (seconds)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args()
    counts = SMOKE if args.smoke else FULL
    procedural.make_batch(0, range(4), 32)  # build the texture tiles outside the timings
    for size in counts:
        [procedural._texture(b, size) for b in procedural.BACKGROUNDS]
    rows = []
    for size, n in counts.items():
        render_s = time_render(size, n)
        write_n = max(10, n // 5)
        write_s = time_write(size, write_n)
        rows.append({"size": size, "images": n, "render_s": round(render_s, 3),
                     "render_images_per_s": round(n / render_s, 1),
                     "write_images": write_n, "write_images_per_s": round(write_n / write_s, 1)})
    print(markdown_table(rows, [("size", "size"), ("images", "images"), ("render_s", "render (s)"),
                                ("render_images_per_s", "render images/s"), ("write_images_per_s", "write images/s")]))
    at64 = next(r for r in rows if r["size"] == 64)
    print(f"\n5,000 images at 64x64 would take {5000 / at64['render_images_per_s']:.1f} s to render (target < 10 s)")
    versions = {"gigagan": gigagan.__version__, "numpy": np.__version__, "pillow": PIL.__version__}
    out = write_results("data", "procedural scenes", rows, args.smoke, versions, args.out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
