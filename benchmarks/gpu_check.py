"""The GPU check, as one prepared script: `shepherd` forward+backward steps/s in bf16,
sampling images/s at 128 px, and a short `shepherd` training run on procedural 128 px data.

    python benchmarks/gpu_check.py                    # on a CUDA machine (about 5 minutes)
    python benchmarks/gpu_check.py --smoke --device cpu   # the same code path in seconds

Prints a markdown table and writes benchmarks/results/gpu_check.json. The text encoder is the
offline tower of CLIP ViT-L/14's width (no download); timings do not depend on weight values.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

import gigagan
from gigagan.models import GigaGANDiscriminator, GigaGANGenerator, image_pyramid
from gigagan.presets import get_preset
from gigagan.training import losses

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_results  # noqa: E402


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def fwd_bwd_steps_per_s(preset: dict, batch: int, steps: int, device: str) -> dict:
    G = GigaGANGenerator(**preset["generator"]).to(device)
    D = GigaGANDiscriminator(**preset["discriminator"]).to(device)
    cfg = G.config
    embeds = torch.randn(batch, cfg.text_max_length, cfg.text_embed_dim, device=device)
    mask = torch.ones(batch, cfg.text_max_length, dtype=torch.bool, device=device)
    real = torch.randn(batch, 3, cfg.resolution, cfg.resolution, device=device)

    def step():
        with torch.autocast(device, torch.bfloat16, enabled=device == "cuda"):
            fake = G(torch.randn(batch, cfg.z_dim, device=device), embeds, mask)
            loss = losses.g_loss_nonsaturating(D(fake, embeds, mask)) + \
                losses.d_loss_real(D(image_pyramid(real, D.levels), embeds, mask))
        loss.backward()

    step()
    sync(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if device == "cuda" else float("nan")
    return {"check": "G+D forward+backward (bf16 autocast)" if device == "cuda" else "G+D forward+backward",
            "batch": batch, "value": steps / seconds, "unit": "steps/s", "images_per_s": batch * steps / seconds,
            "peak_mem_gb": peak}


def sampling_images_per_s(preset: dict, batch: int, repeats: int, device: str) -> dict:
    from gigagan.models import build_text_encoder
    from gigagan.pipeline import GigaGANPipeline

    encoder, tokenizer, _ = build_text_encoder(preset["text_encoder"])
    pipe = GigaGANPipeline(GigaGANGenerator(**preset["generator"]).eval(), encoder.eval(), tokenizer).to(device)
    if device == "cuda":
        pipe.generator_model.to(torch.bfloat16)
    prompts = ["a german shepherd in the snow"] * batch
    pipe(prompts, output_type="pt")
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        pipe(prompts, output_type="pt")
    sync(device)
    seconds = time.perf_counter() - start
    return {"check": "sampling (GigaGANPipeline, 128 px)", "batch": batch, "value": batch * repeats / seconds,
            "unit": "images/s"}


def short_training(minutes: float, n_images: int, batch: int, device: str, overrides: dict) -> dict:
    from gigagan.data import procedural
    from gigagan.training import TrainConfig, Trainer

    with tempfile.TemporaryDirectory() as tmp:
        data = procedural.write_folder(Path(tmp) / "data", n_images, 128, progress=False)
        cfg = TrainConfig(preset="shepherd", data=str(data), out=str(Path(tmp) / "run"), max_minutes=minutes,
                          batch_size=batch, text_encoder="tiny", device=device, epochs=1000, snapshot_every=1000,
                          log_every=5, progress=False, overrides=overrides)
        trainer = Trainer(cfg, log=lambda m: None)
        start = time.perf_counter()
        trainer.fit()
        seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if device == "cuda" else float("nan")
    return {"check": f"shepherd training, {minutes:g} min on procedural 128 px", "batch": batch,
            "value": trainer.images_seen / seconds, "unit": "images/s", "steps": trainer.step,
            "skipped_steps": trainer.bad_steps, "peak_mem_gb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    preset = get_preset("shepherd", text_encoder="tiny")
    small = {}
    if args.smoke:
        small = {"generator.channel_max": 16, "generator.channel_base": 512, "generator.attn_resolutions": [8],
                 "discriminator.channel_max": 16, "discriminator.channel_base": 512,
                 "discriminator.attn_resolutions": [8]}
        for key, value in small.items():
            section, name = key.split(".")
            preset[section][name] = value
    rows = [
        fwd_bwd_steps_per_s(preset, 2 if args.smoke else 32, 1 if args.smoke else 20, args.device),
        sampling_images_per_s(preset, 2 if args.smoke else 16, 1 if args.smoke else 10, args.device),
        short_training(0.05 if args.smoke else args.minutes, 16 if args.smoke else 2000,
                       4 if args.smoke else 32, args.device, small),
    ]
    print(markdown_table(rows, [("check", "check"), ("batch", "batch"), ("value", "value"), ("unit", "unit"),
                                ("peak_mem_gb", "peak GPU memory (GB)")]))
    out = write_results("gpu_check", "shepherd preset on a GPU", rows, args.smoke,
                        {"gigagan": gigagan.__version__, "torch": torch.__version__})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
