"""Pictures of a run: captioned sample grids, the progression GIF and loss curves."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def make_grid(images: Sequence[Image.Image] | np.ndarray, nrow: int = 3, cell: int = 128,
              captions: Sequence[str] | None = None, title: str | None = None, pad: int = 4) -> Image.Image:
    """Tile images ``nrow`` per row, each scaled to ``cell`` px, with optional captions and title."""
    images = [Image.fromarray(im) if isinstance(im, np.ndarray) else im for im in images]
    images = [im.convert("RGB").resize((cell, cell), Image.NEAREST if im.width < cell else Image.LANCZOS)
              for im in images]
    rows = (len(images) + nrow - 1) // nrow
    font = _font(11)
    cap_h = 28 if captions else 0
    title_h = 22 if title else 0
    grid = Image.new("RGB", (nrow * (cell + pad) + pad, title_h + rows * (cell + cap_h + pad) + pad), "white")
    draw = ImageDraw.Draw(grid)
    if title:
        draw.text((pad, 4), title, fill="black", font=_font(14))
    for i, im in enumerate(images):
        x = pad + (i % nrow) * (cell + pad)
        y = title_h + pad + (i // nrow) * (cell + cap_h + pad)
        grid.paste(im, (x, y))
        if captions:
            lines = textwrap.wrap(captions[i], width=max(8, cell // 6))[:2]
            draw.multiline_text((x, y + cell + 1), "\n".join(lines), fill="black", font=font, spacing=1)
    return grid


def save_gif(frames: Sequence[Path | Image.Image], path: Path, labels: Sequence[str] | None = None,
             duration_ms: int = 600) -> Path:
    """An animated GIF, one frame per image, each with its label (e.g. ``epoch 5``) on top."""
    pics = [Image.open(f).convert("RGB") if not isinstance(f, Image.Image) else f.convert("RGB") for f in frames]
    if not pics:
        raise ValueError("no frames for the GIF: train until at least one sample grid is written")
    width, height = max(p.width for p in pics), max(p.height for p in pics)
    out = []
    for i, pic in enumerate(pics):
        frame = Image.new("RGB", (width, height + 24), "white")
        frame.paste(pic, (0, 24))
        if labels:
            ImageDraw.Draw(frame).text((6, 4), labels[i], fill="black", font=_font(16))
        out.append(frame.convert("P", palette=Image.ADAPTIVE, colors=255))
    path = Path(path)
    out[0].save(path, save_all=True, append_images=out[1:], duration=duration_ms, loop=0)
    return path


def read_metrics(path: Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (lines that are not JSON are skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def plot_losses(metrics_path: Path, out_path: Path, keys=("loss_d", "loss_g", "r1")) -> Path:
    """Loss curves against training images seen, one panel per key."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_metrics(metrics_path) if "kimg" in r]
    keys = [k for k in keys if any(k in r for r in records)]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(4 * max(1, len(keys)), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        xs = [r["kimg"] for r in records if key in r]
        ys = [r[key] for r in records if key in r]
        ax.plot(xs, ys, lw=1)
        ax.set_title(key)
        ax.set_xlabel("thousands of images seen")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    return Path(out_path)
