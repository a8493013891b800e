"""``gigagan evaluate RUN_DIR``: the honest metrics of a trained run, printed and written to eval.json."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="attribute accuracy, held-out accuracy and FD-probe of a run",
                              description="Evaluate a run trained on procedural scenes with the offline probe "
                                          "(text alignment, compositional generalisation, FD-probe); with "
                                          "--inception-weights and --real also FID and KID.")
    p.add_argument("run", help="run folder or exported pipeline folder")
    p.add_argument("--n", type=int, default=256, help="generated images per split")
    p.add_argument("--truncation", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inception-weights", help="local Inception-v3 weights file for FID/KID (never downloaded)")
    p.add_argument("--real", help="folder of real images for FID/KID")
    p.add_argument("--clip-model", help="local CLIP (folder or cached hub id) for the CLIP score (never downloaded)")
    p.add_argument("--out", help="where to write the JSON (default: RUN/eval.json)")
    p.set_defaults(func=run_evaluate)


def format_report(report: dict) -> str:
    lines = ["| prompts | " + " | ".join(k for k in report["accuracy_train"]) + " |",
             "|---|" + "---|" * len(report["accuracy_train"])]
    names = {"train": "generated, training prompts", "heldout": "generated, held-out pairs",
             "real": "real scenes (the probe's ceiling)"}
    for split in ("train", "heldout", "real"):
        if f"accuracy_{split}" in report:
            acc = report[f"accuracy_{split}"]
            lines.append(f"| {names[split]} | " + " | ".join(f"{v:.3f}" for v in acc.values()) + " |")
    chance = report["chance"]
    lines.append("| chance | " + " | ".join(f"{chance.get(k, sum(chance.values()) / len(chance)):.3f}"
                                         for k in report["accuracy_train"]) + " |")
    lines.append(f"\nFD-probe (Fréchet distance in the probe's feature space, not FID): {report['fd_probe']:.3f}")
    if "clip_score" in report:
        lines.append(f"CLIP score (mean image-text cosine similarity, training prompts): {report['clip_score']:.4f}")
    if "fid" in report:
        lines.append(f"FID: {report['fid']:.2f}   KID: {report['kid']:.4f}")
    return "\n".join(lines)


def run_evaluate(args) -> int:
    from gigagan import metrics
    from gigagan.training.cli import load_pipeline

    if args.inception_weights or args.real:
        metrics.require_inception_weights(args.inception_weights)
        if not args.real:
            raise ValueError("FID/KID need --real DIR (a folder of real images) as well as --inception-weights")
    clip = metrics.load_clip(args.clip_model) if args.clip_model else None
    pipe = load_pipeline(args.run)
    report = metrics.evaluate_pipeline(pipe, metrics.load_probe(), n=args.n, seed=args.seed,
                                       truncation_psi=args.truncation, clip=clip)
    if args.inception_weights:
        import tempfile

        import torch

        with tempfile.TemporaryDirectory() as tmp:
            images = pipe(["a photo"] * args.n, generator=torch.Generator().manual_seed(args.seed)).images
            for i, image in enumerate(images):
                image.save(Path(tmp) / f"{i:05d}.png")
            report.update(metrics.fid_kid(Path(args.real), Path(tmp), args.inception_weights))
    print(format_report(report))
    out = Path(args.out) if args.out else Path(args.run) / "eval.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0
