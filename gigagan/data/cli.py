"""``gigagan data ...``: make datasets and check folders before training.

    gigagan data procedural --n 5000 --size 64 --out data/scenes [--split heldout]
    gigagan data flux --n 5000 --out data/shepherds [--offload model]
    gigagan data check data/mine --resolution 128 [--skip-bad] [--caption "a photo of a dog"]
    gigagan data sheet --out docs/contact_sheet.png

User errors raise ValueError / FileNotFoundError, which ``gigagan.cli`` prints as
one line with exit code 2; ``check`` exits 1 when it finds bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gigagan.data import folder


def add_parser(subparsers) -> None:
    """Add ``data`` and its sub-commands to the ``gigagan`` parser."""
    data = subparsers.add_parser(
        "data", help="make and check datasets", description="Make datasets and check folders before training."
    )
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    p = commands.add_parser("procedural", help="write captioned procedural scenes (CPU, seconds)")
    p.add_argument("--n", type=int, default=5000, help="number of images (default 5000)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--split", choices=["train", "heldout"], default="train",
                   help="train: never a held-out (colour, shape) pair; heldout: only those")
    p.add_argument("--out", type=Path, required=True, help="output folder (resumed if it exists)")
    p.set_defaults(func=run_procedural)

    f = commands.add_parser("flux", help="generate German Shepherd photos with FLUX.1-schnell (GPU)")
    f.add_argument("--n", type=int, default=5000, help="number of images (default 5000)")
    f.add_argument("--size", type=int, default=256, help="saved image side (default 256)")
    f.add_argument("--gen-size", type=int, default=512, help="generation side before downscaling (default 512)")
    f.add_argument("--out", type=Path, required=True, help="output folder (resumed if it exists)")
    f.add_argument("--batch-size", type=int, default=4, help="prompts per pipeline call (default 4)")
    f.add_argument("--offload", choices=["none", "model", "sequential"], default="none",
                   help="CPU offload: model for 24 GB cards, sequential for less (slow)")
    f.add_argument("--seed", type=int, default=0, help="base seed; each image gets its own (default 0)")
    f.add_argument("--steps", type=int, default=4, help="denoising steps (default 4, as schnell is trained)")
    f.add_argument("--device", default=None, help="cuda, cuda:1, cpu... (default: cuda if available)")
    f.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto",
                   help="auto: bfloat16 on CUDA, float32 on CPU")
    f.add_argument("--max-sequence-length", type=int, default=256, help="T5 prompt tokens (<= 256)")
    f.add_argument("--model", default=None, help="model id or path (default black-forest-labs/FLUX.1-schnell)")
    f.set_defaults(func=run_flux)

    c = commands.add_parser("check", help="validate a dataset folder before training")
    c.add_argument("dir", type=Path, help="folder of images with metadata.jsonl or sidecar .txt captions")
    c.add_argument("--resolution", type=int, default=None, help="training resolution: flag smaller images")
    c.add_argument("--skip-bad", action="store_true", help="report bad inputs as skipped (exit 0)")
    c.add_argument("--caption", default=None, help="caption for images that have none")
    c.set_defaults(func=run_check)

    s = commands.add_parser("sheet", help="draw a contact sheet of procedural scenes with captions")
    s.add_argument("--out", type=Path, default=Path("docs/contact_sheet.png"), help="PNG to write")
    s.add_argument("--n", type=int, default=32, help="number of scenes (default 32)")
    s.add_argument("--size", type=int, default=96, help="scene side in pixels (default 96)")
    s.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    s.set_defaults(func=run_sheet)


def run_procedural(args: argparse.Namespace) -> int:
    from gigagan.data import procedural

    out = procedural.write_folder(args.out, args.n, args.size, seed=args.seed, split=args.split)
    print(f"{out}: {args.n} procedural scenes ({args.split}) at {args.size}x{args.size}, with {folder.METADATA_FILE}")
    return 0


def run_flux(args: argparse.Namespace) -> int:
    from gigagan.data import flux

    dtype = None
    if args.dtype != "auto":
        import torch

        dtype = getattr(torch, args.dtype)
    out = flux.generate(
        args.out, args.n, size=args.size, seed=args.seed, batch_size=args.batch_size, steps=args.steps,
        device=args.device, dtype=dtype, offload=args.offload, gen_size=args.gen_size,
        max_sequence_length=args.max_sequence_length, model_id=args.model or flux.MODEL_ID,
    )
    print(f"{out}: {args.n} FLUX.1-schnell images at {args.size}x{args.size}, with {folder.METADATA_FILE}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    scan = folder.scan_folder(args.dir, args.caption, args.resolution, progress=True)
    print(check_summary(scan, args.resolution, args.skip_bad))
    if scan.problems and (not args.skip_bad or not scan.records):
        return 1
    return 0


def check_summary(scan: folder.Scan, resolution: int | None, skip_bad: bool) -> str:
    """The report printed by ``gigagan data check``."""
    total = len(scan.records) + len(scan.problems)
    sources = ", ".join(f"{n} from {src}" for src, n in scan.caption_sources.items()) or "none"
    lines = [f"{scan.root}: {total} inputs, {len(scan.records)} good, {len(scan.problems)} bad"]
    lines.append(f"  captions: {sources}")
    if scan.sizes:
        sides = sorted(min(s) for s in scan.sizes)
        modes = ", ".join(f"{m} {k}" for m, k in scan.modes.most_common())
        lines.append(f"  image sizes: shorter side {sides[0]} to {sides[-1]} px; modes: {modes}")
    if resolution:
        lines.append(f"  training resolution: {resolution} (smaller images are bad input, never upscaled)")
    if scan.unlisted:
        lines.append(f"  note: {len(scan.unlisted)} images not listed in {folder.METADATA_FILE} are ignored, "
                     f"e.g. {scan.unlisted[0]}")
    if scan.problems:
        lines.append("bad inputs:")
        lines += [f"  {p}" for p in scan.problems]
        if skip_bad and scan.records:
            lines.append(f"with --skip-bad these {len(scan.problems)} are skipped; {len(scan.records)} images remain")
        elif skip_bad:
            lines.append("with --skip-bad nothing would remain: fix the folder")
        else:
            lines.append(f"fix them, or {folder.SKIP_HINT}")
    else:
        lines.append("ok: ready for training")
    return "\n".join(lines)


def run_sheet(args: argparse.Namespace) -> int:
    from gigagan.data import procedural

    args.out.parent.mkdir(parents=True, exist_ok=True)
    procedural.contact_sheet(args.n, args.size, args.seed).save(args.out, optimize=True)
    print(f"{args.out}: contact sheet of {args.n} procedural scenes")
    return 0
