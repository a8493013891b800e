"""Our GigaGAN against lucidrains' gigagan-pytorch 0.3.0 and a diffusion UNet, on one machine.

    make bench-venv                                   # once: gigagan-pytorch 0.3.0 in its own venv (~5.6 GB)
    python benchmarks/bench_compare.py                # speed table, then quality per compute (3 x 5 CPU minutes)
    python benchmarks/bench_compare.py --part speed
    python benchmarks/bench_compare.py --smoke        # seconds: a few steps of everything

*Speed*: training images/s, sampling images/s and peak memory (peak RSS of a process that does
only that) of our ``tiny`` preset and of gigagan-pytorch at the same resolution and batch, with
gigagan-pytorch's channel widths chosen so that its generator and discriminator parameter
counts are within 10% of ours. Reported as ratios (ours / theirs).

*Quality per compute*: the same procedural images, the same CPU minutes and the same text
embeddings (the tiny preset's frozen text tower) for our GigaGAN, gigagan-pytorch (its own
trainer and default losses) and a diffusers UNet trained as a diffusion model (sampled with 4, 25
and 50 DDIM steps). Each is judged by the probe (``gigagan.metrics``): attribute accuracy
against the prompt and FD-probe (not FID).

gigagan-pytorch runs in its own virtualenv (``benchmarks/.venv-gigagan-pytorch``; it needs
torchvision and another torch) through ``benchmarks/workers/gigagan_pytorch_worker.py``; where
that venv is missing its rows say so and the rest still runs. Writes
benchmarks/results/compare.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import markdown_table, write_results  # noqa: E402

from gigagan.training.trainer import peak_rss_gb  # noqa: E402

LUCID_PYTHON = HERE / ".venv-gigagan-pytorch" / "bin" / "python"
LUCID_WORKER = HERE / "workers" / "gigagan_pytorch_worker.py"
PRESET = "tiny"
# gigagan-pytorch's attention resolutions mirror ours (G: 8 and 16, D: 8); its widths are searched.
LUCID_BASE = {"generator": {"style_dim": 64, "text_dim": 128, "attn_resolutions": [8, 16], "num_conv_kernels": 4},
              "discriminator": {"attn_resolutions": [8], "num_conv_kernels": 2}}
WIDTHS = [(c, m) for c in (2, 4, 8, 16) for m in (16, 24, 32, 48, 64, 96, 128)]
LATENTS = (16, 32, 64, 128)  # gigagan-pytorch's dim_latent: the width of its 4x4 input block


# ----------------------------------------------------------------------------- job folders
def prepare(folder: Path, data_dir: Path, n_eval: int) -> dict:
    """Write the shared inputs: images, captions and our text encoder's hidden states for every caption."""
    from safetensors.torch import save_file

    from gigagan import compare
    from gigagan.data.dataset import CaptionedImageDataset
    from gigagan.models.text_encoder import build_text_encoder, encode_tokens, tokenize
    from gigagan.presets import get_preset

    preset = get_preset(PRESET)
    ds = CaptionedImageDataset(data_dir, preset["resolution"], progress=False)
    eval_prompts = compare.eval_prompts(n_eval)
    captions = sorted(set(r["text"] for r in ds.records) | set(eval_prompts))
    index = {c: i for i, c in enumerate(captions)}
    encoder, tokenizer, _ = build_text_encoder(preset["text_encoder"], seed=0)
    g = preset["generator"]
    chunks = []
    with torch.no_grad():
        for i in range(0, len(captions), 256):
            ids, mask = tokenize(tokenizer, captions[i:i + 256], g["text_max_length"])
            chunks.append(encode_tokens(encoder, ids, mask, g["text_hidden_layer"]) * mask[..., None])
    if ds.images.shape[1:] != (3, preset["resolution"], preset["resolution"]):
        raise ValueError(f"expected images [N, 3, R, R]; got {tuple(ds.images.shape)}")
    save_file({"images": ds.images.contiguous(),
               "caption_index": torch.tensor([index[r["text"]] for r in ds.records]),
               "eval_index": torch.tensor([index[p] for p in eval_prompts]),
               "text": torch.cat(chunks).contiguous()}, str(folder / "data.safetensors"))
    (folder / "captions.json").write_text(json.dumps(captions))
    return {"images": len(ds), "captions": len(captions), "eval_prompts": eval_prompts}


def run_lucid(folder: Path, job: dict, timeout: float) -> dict:
    """One gigagan-pytorch job in its own venv; ``{"error": ...}`` when it cannot run."""
    if not LUCID_PYTHON.exists():
        return {"error": "gigagan-pytorch is not installed: run `make bench-venv` (its own venv, ~5.6 GB)"}
    (folder / "job.json").write_text(json.dumps(job))
    (folder / "result.json").unlink(missing_ok=True)
    proc = subprocess.run([str(LUCID_PYTHON), str(LUCID_WORKER), str(folder)], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        return {"error": f"gigagan-pytorch worker failed: {proc.stderr.strip().splitlines()[-1:]}"}
    return json.loads((folder / "result.json").read_text())


def run_self(kind: str, folder: Path, job: dict, timeout: float) -> dict:
    """One of our jobs in a fresh process of this interpreter (so peak memory is that job's alone)."""
    (folder / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, str(folder)], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads((folder / "result.json").read_text())


# ----------------------------------------------------------------------------- our workers
def _ours_worker(folder: Path, job: dict) -> dict:
    from gigagan import compare

    prompts, bs, out = job["eval_prompts"], job["batch_size"], folder / "run"
    if job["mode"] == "train":  # the real loop with its minutes budget, then samples from the EMA generator
        from safetensors.torch import save_file

        from gigagan.training.export import pipeline_from_run

        trainer, stats = compare.train_gigagan(job["data"], out, job.get("minutes"), job.get("steps"), bs)
        pipe = pipeline_from_run(out)
        images, seconds = compare.timed_samples(lambda p, g: pipe(p, output_type="pt", generator=g).images,
                                                prompts, bs)
        save_file({"images": images.contiguous()}, str(folder / "samples.safetensors"))
        return dict(_sizes(trainer), **stats, sample_seconds=seconds, sample_images_per_s=len(prompts) / seconds,
                    peak_rss_gb=peak_rss_gb())
    from gigagan.training import TrainConfig, Trainer

    trainer = Trainer(TrainConfig(preset=PRESET, data=job["data"], out=str(out), progress=False, batch_size=bs),
                      log=lambda m: None)
    if job["mode"] == "sample_speed":
        # The frozen text tower runs outside the timing, as gigagan-pytorch's reads a table of the same
        # hidden states; the generator's own text layers (T) are timed on both sides.
        G = trainer.G_ema.eval()
        batches = [trainer.encode(prompts[i:i + bs]) for i in range(0, len(prompts), bs)]
        with torch.no_grad():
            G(torch.randn(bs, G.config.z_dim), *batches[0])  # warm-up
            start = time.perf_counter()
            for embeds, mask in batches:
                G(torch.randn(len(embeds), G.config.z_dim), embeds, mask)
            seconds = time.perf_counter() - start
        return dict(_sizes(trainer), sample_images=len(prompts), sample_seconds=seconds,
                    sample_images_per_s=len(prompts) / seconds, peak_rss_gb=peak_rss_gb())
    order = trainer.epoch_order(0)  # train_speed: the trainer's own step on its own batches
    real, caps = trainer.batch(order[:bs])
    for _ in range(job.get("warmup_steps", 2)):
        trainer.train_step(real, caps)
    start = time.perf_counter()
    for step in range(job["steps"]):
        trainer.step = step + 1
        real, caps = trainer.batch(order[(step % (len(order) // bs)) * bs:][:bs])
        trainer.train_step(real, caps)
    seconds = time.perf_counter() - start
    return dict(_sizes(trainer), train_steps=job["steps"], train_seconds=seconds,
                train_images_per_s=job["steps"] * bs / seconds, peak_rss_gb=peak_rss_gb())


def _sizes(trainer) -> dict:
    return {"generator_params": sum(p.numel() for p in trainer.G.parameters()),
            "discriminator_params": sum(p.numel() for p in trainer.D.parameters()), "torch": torch.__version__}


def _diffusion_worker(folder: Path, job: dict) -> dict:
    from safetensors.torch import save_file

    from gigagan import compare

    bs, prompts = job["batch_size"], job["eval_prompts"]
    model, stats = compare.train_diffusion(job["data"], job.get("minutes"), job.get("steps"), bs)
    result = dict(stats, unet_params=model.num_parameters(), peak_rss_gb=peak_rss_gb(), samples={})
    tensors = {}
    for k in job["sample_steps"]:
        images, seconds = compare.timed_samples(lambda p, g, k=k: model.sample(p, steps=k, generator=g), prompts, bs)
        tensors[f"steps_{k}"] = images.contiguous()
        result["samples"][k] = {"sample_seconds": seconds, "sample_images_per_s": len(prompts) / seconds}
    save_file(tensors, str(folder / "samples.safetensors"))
    return result


def worker_main(kind: str, folder: Path) -> None:
    job = json.loads((folder / "job.json").read_text())
    result = _ours_worker(folder, job) if kind == "ours" else _diffusion_worker(folder, job)
    (folder / "result.json").write_text(json.dumps(result, indent=2))


# ----------------------------------------------------------------------------- matching sizes
def match_lucid_sizes(folder: Path, job: dict, ours: dict, timeout: float) -> dict:
    """gigagan-pytorch widths whose G and D parameter counts are closest to ours (within 10% or an error)."""
    candidates = {"generator": [dict(LUCID_BASE["generator"], dim_capacity=c, dim_max=m, dim_latent=lat)
                                for c, m in WIDTHS for lat in LATENTS],
                  "discriminator": [dict(LUCID_BASE["discriminator"], dim_capacity=c, dim_max=m) for c, m in WIDTHS]}
    first = {part: options[0] for part, options in candidates.items()}
    res = run_lucid(folder, dict(job, **first, mode="params", candidates=candidates), timeout)
    if "error" in res:
        return res
    best = {}
    for part in ("generator", "discriminator"):
        errors = [abs(count / ours[f"{part}_params"] - 1) for count in res["candidates"][part]]
        i = min(range(len(errors)), key=errors.__getitem__)
        best[part] = candidates[part][i]
        best[f"{part}_error"] = errors[i]
    if max(best["generator_error"], best["discriminator_error"]) > 0.10:
        return {"error": f"no gigagan-pytorch width within 10% of our parameter counts "
                         f"(G off by {best['generator_error']:.0%}, D by {best['discriminator_error']:.0%})"}
    return {"generator": best["generator"], "discriminator": best["discriminator"]}


# ----------------------------------------------------------------------------- the two parts
def speed(folder: Path, base_job: dict, args) -> list[dict]:
    ours_t = run_self("ours", folder, dict(base_job, mode="train_speed", steps=args.speed_steps), args.timeout)
    ours_s = run_self("ours", folder, dict(base_job, mode="sample_speed"), args.timeout)
    sizes = match_lucid_sizes(folder, base_job, ours_t, args.timeout)
    if "error" in sizes:
        lucid_t = lucid_s = sizes
    else:
        lucid_job = dict(base_job, **sizes)
        lucid_t = run_lucid(folder, dict(lucid_job, mode="train_speed", steps=args.speed_steps), args.timeout)
        lucid_s = run_lucid(folder, dict(lucid_job, mode="sample_speed"), args.timeout)
    rows = []
    for metric, key, a, b in [("training", "train_images_per_s", ours_t, lucid_t),
                              ("sampling", "sample_images_per_s", ours_s, lucid_s)]:
        row = {"measure": f"{metric} images/s", "ours": a[key], "ours_G_params": a["generator_params"],
               "ours_D_params": a["discriminator_params"], "ours_peak_gb": a["peak_rss_gb"]}
        if "error" in b:
            row["gigagan_pytorch"] = b["error"]
        else:
            row.update(gigagan_pytorch=b[key], ratio=a[key] / b[key], theirs_G_params=b["generator_params"],
                       theirs_D_params=b["discriminator_params"], theirs_peak_gb=b["peak_rss_gb"],
                       memory_ratio=a["peak_rss_gb"] / b["peak_rss_gb"], theirs_config=sizes)
        rows.append(row)
    return rows


def quality(folder: Path, base_job: dict, args) -> list[dict]:
    from safetensors.torch import load_file

    from gigagan import compare, metrics

    probe, n = metrics.load_probe(), args.n_eval
    job = dict(base_job, mode="train", minutes=args.minutes, steps=args.quality_steps, warmup_steps=0)

    def row(name, res, params, steps, sample_seconds, images):
        return compare.quality_row(name, params, res, steps, sample_seconds, images, n, probe)

    rows = []
    ours = run_self("ours", folder, job, args.timeout + 120 * args.minutes)
    rows.append(row("GigaGAN (ours)", ours, ours["generator_params"], 1, ours["sample_seconds"],
                    load_file(str(folder / "samples.safetensors"))["images"]))
    sizes = match_lucid_sizes(folder, base_job, ours, args.timeout)
    lucid = sizes if "error" in sizes else run_lucid(folder, dict(job, **sizes), args.timeout + 120 * args.minutes)
    if "error" in lucid:
        rows.append({"model": "gigagan-pytorch 0.3.0", "note": lucid["error"]})
    else:
        rows.append(row("gigagan-pytorch 0.3.0", lucid, lucid["generator_params"], 1, lucid["sample_seconds"],
                        load_file(str(folder / "samples.safetensors"))["images"]))
    diff = run_self("diffusion", folder, dict(job, sample_steps=args.sample_steps), args.timeout + 120 * args.minutes)
    samples = load_file(str(folder / "samples.safetensors"))
    for k in args.sample_steps:
        rows.append(row(f"diffusion UNet, {k} steps", diff, diff["unet_params"], k,
                        diff["samples"][str(k)]["sample_seconds"], samples[f"steps_{k}"]))
    return rows


SPEED_COLUMNS = [("measure", "measure"), ("ours", "ours"), ("gigagan_pytorch", "gigagan-pytorch"),
                 ("ratio", "ratio (ours / theirs)"), ("ours_peak_gb", "ours peak GB"),
                 ("theirs_peak_gb", "theirs peak GB"), ("ours_G_params", "ours G"), ("theirs_G_params", "theirs G"),
                 ("ours_D_params", "ours D"), ("theirs_D_params", "theirs D")]


def versions() -> dict:
    import diffusers

    import gigagan

    out = {"gigagan": gigagan.__version__, "torch": torch.__version__, "diffusers": diffusers.__version__}
    if LUCID_PYTHON.exists():
        proc = subprocess.run([str(LUCID_PYTHON), "-c", "import torch, gigagan_pytorch.version as v; "
                               "print(v.__version__, torch.__version__)"], capture_output=True, text=True)
        if proc.returncode == 0:
            out["gigagan_pytorch"], out["gigagan_pytorch_torch"] = proc.stdout.split()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="a few steps of everything, in seconds")
    parser.add_argument("--part", choices=["speed", "quality", "all"], default="all")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget of each model (quality)")
    parser.add_argument("--images", type=int, default=4000, help="procedural training images")
    parser.add_argument("--n-eval", type=int, default=256, help="evaluation prompts per split")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--speed-steps", type=int, default=20)
    parser.add_argument("--sample-steps", type=int, nargs="*", default=[4, 25, 50])
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per worker, before its training budget")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker[0], Path(args.worker[1]))
    args.quality_steps = None
    if args.smoke:
        args.images, args.n_eval, args.speed_steps, args.minutes = 64, 64, 2, 0.05
        args.quality_steps, args.sample_steps = 2, [2]

    from gigagan import compare
    from gigagan.data import procedural

    with tempfile.TemporaryDirectory(prefix="gigagan-compare-") as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        procedural.write_folder(data_dir, args.images, 32, seed=0, progress=False)
        info = prepare(folder, data_dir, args.n_eval)
        base_job = {"data": str(data_dir), "resolution": 32, "batch_size": args.batch, "seed": 0,
                    "eval_prompts": info["eval_prompts"]}
        extra = {"images": info["images"], "minutes_per_model": args.minutes}
        speed_rows = quality_rows = []
        if args.part in ("speed", "all"):
            speed_rows = speed(folder, base_job, args)
            print(markdown_table(speed_rows, SPEED_COLUMNS), flush=True)
        if args.part in ("quality", "all"):
            quality_rows = quality(folder, base_job, args)
            print(markdown_table(quality_rows, compare.QUALITY_COLUMNS), flush=True)
    out = write_results("compare", "GigaGAN vs gigagan-pytorch vs diffusion UNet (speed, quality per compute)",
                        speed_rows + quality_rows, args.smoke, versions(), args.out,
                        speed=speed_rows, quality=quality_rows, **extra)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
