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
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL

import gigagan
from gigagan.data import procedural

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


def machine() -> dict:
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


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
    print("| size | images | render (s) | render images/s | write images/s |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']} | {r['images']} | {r['render_s']:.2f} | {r['render_images_per_s']:,.0f} | "
              f"{r['write_images_per_s']:,.0f} |")
    at64 = next(r for r in rows if r["size"] == 64)
    print(f"\n5,000 images at 64x64 would take {5000 / at64['render_images_per_s']:.1f} s to render (target < 10 s)")
    result = {
        "benchmark": "procedural scenes",
        "machine": machine(),
        "versions": {"gigagan": gigagan.__version__, "numpy": np.__version__, "pillow": PIL.__version__},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "smoke": args.smoke,
        "results": rows,
    }
    out = args.out or Path(__file__).parent / "results" / ("data-smoke.tmp" if args.smoke else "data.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
