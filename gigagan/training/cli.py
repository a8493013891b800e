"""``gigagan train``, ``gigagan sample`` and ``gigagan export``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gigagan.presets import preset_names


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects KEY=VALUE (e.g. training.g_lr=0.001); got {item!r}")
        out[key.strip()] = _value(value)
    return out


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a GigaGAN on a folder of captioned images",
                              description="Train a preset on a dataset folder; writes checkpoints, 3x3 grids, "
                                          "metrics.jsonl, loss.png and progress.gif into --out.")
    p.add_argument("--preset", choices=preset_names(), default="tiny")
    p.add_argument("--data", help="dataset folder (images + metadata.jsonl, or sidecar .txt captions)")
    p.add_argument("--out", help="run folder to create")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue RUN_DIR from its newest valid checkpoint")
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--snapshot-every", type=int, help="epochs between checkpoints and grids (default: preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--text-encoder", help="'scene-clip' (a tiny CLIP pretrained on procedural scenes, offline), 'tiny' "
                   "(random tower) or a local CLIP text encoder path; default: the preset's")
    p.add_argument("--caption", help="caption for images that have none")
    p.add_argument("--skip-bad", action="store_true", help="skip and count bad images instead of stopping")
    p.add_argument("--max-images", type=int, help="use only the first N images")
    p.add_argument("--clip-model", help="local pretrained CLIP for the CLIP contrastive loss")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a preset value, e.g. --set training.g_lr=0.001 (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--print-digest", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run_train)

    s = subparsers.add_parser("sample", help="sample a grid of images from a trained run")
    s.add_argument("run", help="run folder (or an exported pipeline folder)")
    s.add_argument("--prompt", action="append", required=True, help="prompt (repeat for several)")
    s.add_argument("--n", type=int, default=9, help="number of images")
    s.add_argument("--out", default="grid.png")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--truncation", type=float, default=1.0)
    s.add_argument("--checkpoint", help="a specific checkpoint folder (default: newest valid)")
    s.set_defaults(func=run_sample)

    e = subparsers.add_parser("export", help="write a GigaGANPipeline (save_pretrained) from a run")
    e.add_argument("run")
    e.add_argument("out")
    e.add_argument("--checkpoint")
    e.set_defaults(func=run_export)


def train_config(args):
    from gigagan.training import TrainConfig

    budgets = {k: getattr(args, k) for k in ("epochs", "max_steps", "max_minutes", "batch_size", "snapshot_every")
               if getattr(args, k) is not None}
    if args.resume:
        from gigagan.training.export import run_preset

        saved = run_preset(args.resume)["train"]
        saved.update(budgets, out=str(args.resume), progress=not args.no_progress)
        return TrainConfig(**saved)
    if not args.data or not args.out:
        raise ValueError("gigagan train needs --data DIR and --out RUN_DIR (or --resume RUN_DIR)")
    return TrainConfig(preset=args.preset, data=args.data, out=args.out, seed=args.seed, device=args.device,
                       text_encoder=args.text_encoder, caption=args.caption, skip_bad=args.skip_bad,
                       max_images=args.max_images, overrides=parse_overrides(args.set),
                       clip_model=args.clip_model, progress=not args.no_progress, **budgets)


def run_train(args) -> int:
    from gigagan.training import Trainer
    from gigagan.training.distributed import cleanup

    trainer = Trainer(train_config(args))
    try:
        if args.resume:
            trainer.resume()
        trainer.fit()
        if args.print_digest:
            print(f"rank {trainer.dist.rank} weights sha256 {weights_digest(trainer)}", flush=True)
    finally:
        cleanup(trainer.dist)
    return 0


def weights_digest(trainer) -> str:
    import hashlib

    digest = hashlib.sha256()
    for module in (trainer.G, trainer.D, trainer.G_ema):
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_pipeline(path: str, checkpoint: str | None = None):
    if (Path(path) / "model_index.json").is_file():
        from gigagan.pipeline import GigaGANPipeline

        return GigaGANPipeline.from_pretrained(path)
    from gigagan.training.export import pipeline_from_run

    return pipeline_from_run(Path(path), checkpoint)


def run_sample(args) -> int:
    import torch

    from gigagan.viz import make_grid

    if args.n < 1:
        raise ValueError(f"--n must be at least 1; got {args.n}")
    pipe = load_pipeline(args.run, args.checkpoint)
    prompts = (args.prompt * args.n)[: args.n]
    images = pipe(prompts, truncation_psi=args.truncation, generator=torch.Generator().manual_seed(args.seed)).images
    nrow = 3 if args.n == 9 else min(args.n, 4)
    make_grid(images, nrow=nrow, cell=128, captions=prompts).save(args.out)
    print(f"wrote {args.out} ({args.n} images)")
    return 0


def run_export(args) -> int:
    from gigagan.training.export import pipeline_from_run

    pipe = pipeline_from_run(Path(args.run), args.checkpoint)
    pipe.save_pretrained(args.out)
    print(f"wrote a GigaGANPipeline to {args.out}; load it with GigaGANPipeline.from_pretrained({args.out!r})")
    return 0
