"""GAN versus diffusion, measured: the same data, text embeddings and CPU minutes for both.

Our GigaGAN (``tiny`` preset) and the diffusion baseline (``gigagan.baselines.diffusion``) are
trained on the same procedural images for the same wall-clock budget; both read the hidden states
of the same frozen text tower. Each then draws images for the same evaluation prompts (one
generator pass for the GAN; 4, 25 or 50 denoising steps for the diffusion model), and the probe
judges them (``gigagan.metrics``: attribute accuracy, FD-probe). Used by the book's "GAN versus
diffusion, measured" chapter (a short run) and by ``benchmarks/bench_compare.py`` (the committed
full run, which adds lucidrains' gigagan-pytorch).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from gigagan import metrics
from gigagan.data import procedural

QUALITY_COLUMNS = [("model", "model"), ("params_M", "params (M)"), ("train_steps", "train steps"),
                   ("train_images_per_s", "train images/s"), ("sampling_steps", "sampling steps"),
                   ("sample_images_per_s", "sample images/s"), ("background", "background acc."),
                   ("color", "colour acc."), ("size", "size acc."), ("heldout_color", "held-out colour acc."),
                   ("fd_probe", "FD-probe"), ("note", "note")]


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """``columns`` is a list of (key, header); numbers are formatted compactly, missing values left blank."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k, _ in columns) + " |" for r in rows]
    return "\n".join(lines)


def eval_prompts(n: int, seed: int = 0) -> list[str]:
    """The prompts `metrics.evaluate_sampler` asks for, in its order: ``n`` training-split, then ``n`` held-out."""
    return [procedural.canonical_caption(procedural.sample_attributes(seed + 999, i, split))
            for split in ("train", "heldout") for i in range(n)]


def timed_samples(sample, prompts: list[str], batch: int) -> tuple[torch.Tensor, float]:
    """``sample(prompts, generator)`` over ``prompts`` in batches: images and seconds spent sampling."""
    images, seconds = [], 0.0
    for i in range(0, len(prompts), batch):
        start = time.perf_counter()
        images.append(sample(prompts[i:i + batch], torch.Generator().manual_seed(i)).float().cpu())
        seconds += time.perf_counter() - start
    return torch.cat(images), seconds


def judge(images: torch.Tensor, n: int, probe=None, seed: int = 0) -> dict:
    """The probe's report on images drawn for ``eval_prompts(n, seed)`` (in that order)."""
    probe = probe or metrics.load_probe()
    if len(images) != 2 * n:
        raise ValueError(f"expected {2 * n} images (n={n} per split), got {len(images)}")
    queue = list(images.split(64))

    def replay(prompts, generator):
        return queue.pop(0)[: len(prompts)]

    return metrics.evaluate_sampler(replay, probe, images.shape[-1], n=n, seed=seed, batch=64)


def train_gigagan(data_dir: str | Path, out: str | Path, minutes: float | None = None, steps: int | None = None,
                  batch_size: int = 16, preset: str = "tiny", progress: bool = False):
    """Train our GigaGAN on a budget; returns the trainer (its run folder is ``out``) and timing."""
    from gigagan.training import TrainConfig, Trainer

    cfg = TrainConfig(preset=preset, data=str(data_dir), out=str(out), max_minutes=minutes, max_steps=steps,
                      epochs=10 ** 6, snapshot_every=10 ** 6, log_every=10 ** 6, progress=progress,
                      batch_size=batch_size)
    trainer = Trainer(cfg, log=lambda m: None)
    start = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - start
    return trainer, {"train_steps": trainer.step, "train_seconds": seconds,
                     "train_images_per_s": trainer.images_seen / seconds}


def train_diffusion(data_dir: str | Path, minutes: float | None = None, steps: int | None = None,
                    batch_size: int = 16, preset: str = "tiny", progress: bool = False):
    """Train the diffusion baseline on the same budget; returns the model and timing."""
    from gigagan.baselines.diffusion import DiffusionBaseline
    from gigagan.data.dataset import CaptionedImageDataset

    model = DiffusionBaseline.from_preset(preset)
    data = CaptionedImageDataset(data_dir, model.resolution, progress=False)
    stats = model.fit(data, max_minutes=minutes, max_steps=steps, progress=progress, batch_size=batch_size)
    return model, {"train_steps": stats["steps"], "train_seconds": stats["seconds"],
                   "train_images_per_s": stats["images_per_s"]}


def quality_row(model: str, params: int, train: dict, sampling_steps: int, sample_seconds: float,
                images: torch.Tensor, n_eval: int, probe=None) -> dict:
    """One table row: timing, then the probe's report, or a note when samples are NaN or inf (a diverged run)."""
    bad = (~torch.isfinite(images.flatten(1)).all(1)).float().mean().item()
    if bad:
        where = train.get("first_nonfinite_loss_step")
        return {"model": model, "params_M": params / 1e6, "train_steps": train["train_steps"],
                "train_images_per_s": train["train_images_per_s"], "sampling_steps": sampling_steps,
                "note": f"{bad:.0%} of samples are NaN or inf (training diverged"
                        + (f"; first non-finite loss at step {where})" if where else ")")}
    report = judge(images, n_eval, probe)
    acc = report["accuracy_train"]
    return {"model": model, "params_M": params / 1e6, "train_steps": train["train_steps"],
            "train_images_per_s": train["train_images_per_s"], "sampling_steps": sampling_steps,
            "sample_images_per_s": len(images) / sample_seconds, "background": acc["background"],
            "color": acc["color"], "size": acc["size"], "heldout_color": report["accuracy_heldout"]["color"],
            "fd_probe": report["fd_probe"], "real_background": report["accuracy_real"]["background"],
            "real_color": report["accuracy_real"]["color"]}


def gan_versus_diffusion(data_dir: str | Path, out: str | Path, minutes: float | None = None,
                         steps: int | None = None, n_eval: int = 128, sample_steps=(4, 25, 50), batch_size: int = 16,
                         progress: bool = False) -> dict:
    """Train both on the same budget, sample the same prompts, judge with the probe.

    Returns ``{"rows": [...], "images": {name: tensor}, "prompts": [...]}``; rows are ready for
    a table (see ``QUALITY_COLUMNS``).
    """
    from gigagan.training.export import pipeline_from_run

    probe = metrics.load_probe()
    prompts = eval_prompts(n_eval)
    trainer, gan_train = train_gigagan(data_dir, Path(out) / "gigagan", minutes, steps, batch_size, progress=progress)
    pipe = pipeline_from_run(Path(out) / "gigagan")

    def gan_sample(p, generator):
        return pipe(p, output_type="pt", generator=generator).images

    images, seconds = timed_samples(gan_sample, prompts, batch_size)
    params = sum(p.numel() for p in trainer.G.parameters())
    rows = [quality_row("GigaGAN (ours)", params, gan_train, 1, seconds, images, n_eval, probe)]
    drawn = {"GigaGAN (ours)": images}
    model, diff_train = train_diffusion(data_dir, minutes, steps, batch_size, progress=progress)
    for k in sample_steps:
        images, seconds = timed_samples(lambda p, g, k=k: model.sample(p, steps=k, generator=g), prompts, batch_size)
        name = f"diffusion UNet, {k} steps"
        rows.append(quality_row(name, model.num_parameters(), diff_train, k, seconds, images, n_eval, probe))
        drawn[name] = images
    return {"rows": rows, "images": drawn, "prompts": prompts}
