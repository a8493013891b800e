"""Sampling speed of the presets: images/s at each preset's resolution, batch 16.

    python benchmarks/bench_sampling.py            # all presets (paper64 takes a few minutes on 2 cores)
    python benchmarks/bench_sampling.py --smoke    # tiny only, batch 2, seconds

Times ``GigaGANPipeline.__call__`` (text encoder + generator, one forward pass) on untrained
weights: speed does not depend on weight values. Presets that use a pretrained CLIP get the
offline text tower of the same width instead (no download). Writes
benchmarks/results/sampling.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import gigagan
from gigagan.pipeline import GigaGANPipeline
from gigagan.presets import parameter_counts

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_results  # noqa: E402


def bench(name: str, batch: int, repeats: int, device: str) -> dict:
    pipe = GigaGANPipeline.from_preset(name, text_encoder=None if name == "tiny" else "tiny").to(device)
    prompts = ["a large red star on snow"] * batch
    pipe(prompts[:1], output_type="pt")  # warm-up
    times = []
    for i in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        pipe(prompts, generator=torch.Generator(device).manual_seed(i), output_type="pt")
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    best = min(times)
    counts = parameter_counts(name)
    res = pipe.generator_model.config.resolution
    return {"preset": name, "resolution": res, "batch": batch, "generator_params_M": counts["generator"] / 1e6,
            "seconds_per_batch": best, "images_per_s": batch / best, "device": device}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--presets", nargs="*", default=["tiny", "shepherd", "paper64"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    presets, batch, repeats = (["tiny"], 2, 1) if args.smoke else (args.presets, args.batch, args.repeats)
    rows = []
    for name in presets:
        rows.append(bench(name, batch, repeats if name != "paper64" else 1, args.device))
        print(f"{name}: {rows[-1]['images_per_s']:.2f} images/s", flush=True)
    print(markdown_table(rows, [("preset", "preset"), ("resolution", "px"), ("generator_params_M", "G params (M)"),
                                ("batch", "batch"), ("seconds_per_batch", "s / batch"),
                                ("images_per_s", "images/s"), ("device", "device")]))
    out = write_results("sampling", "GigaGANPipeline sampling speed", rows, args.smoke,
                        {"gigagan": gigagan.__version__, "torch": torch.__version__}, args.out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
