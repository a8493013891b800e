"""German Shepherd photos from FLUX.1-schnell, the GPU dataset of the book.

Mirrors the original project's data: ``black-forest-labs/FLUX.1-schnell``
through diffusers' `FluxPipeline`, 4 steps, ``guidance_scale=0`` (schnell is
guidance-distilled), T5 prompts of at most 256 tokens, bf16 on CUDA. Images are
generated at ``gen_size`` (512 by default, where schnell is still sharp) and
saved at ``size`` (256) after a LANCZOS downscale::

    gigagan data flux --n 5000 --out data/shepherds                   # 40+ GB card
    gigagan data flux --n 5000 --out data/shepherds --offload model   # 24 GB card

Every image has its own seed (recorded in ``metadata.jsonl`` with the prompt
and its parts), so any image can be regenerated alone. A run is resumable: an
interrupted run continues where it stopped and never rewrites a finished
image (see `gigagan.data.folder`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gigagan.data import folder

MODEL_ID = "black-forest-labs/FLUX.1-schnell"

SCENES = {
    "park": "in a green city park",
    "city": "on a busy city street",
    "snow": "in deep fresh snow",
    "beach": "on a sandy beach by the sea",
    "forest": "in a pine forest",
    "mountain": "on a rocky mountain trail",
    "meadow": "in a meadow of wildflowers",
    "lake": "on the shore of a calm lake",
    "autumn": "among fallen autumn leaves",
    "garden": "in a backyard garden",
    "home": "in a cozy living room",
    "river": "on the bank of a shallow river",
}
POSES = {
    "sitting": "sitting",
    "standing": "standing",
    "running": "running",
    "lying": "lying down",
    "jumping": "jumping to catch a ball",
    "walking": "walking",
    "alert": "standing alert with ears up",
    "playing": "playing with a stick",
}
LIGHTING = {
    "morning": "in soft morning light",
    "golden hour": "at golden hour",
    "sunset": "at sunset",
    "overcast": "on an overcast day",
    "midday": "in bright midday sun",
    "dusk": "at dusk",
    "night": "at night under street lights",
    "fog": "in light fog",
}
TEMPLATES = [
    "a photo of a German Shepherd {pose} {scene}, {light}",
    "a German Shepherd dog {pose} {scene}, {light}, photograph",
    "a professional photograph of a German Shepherd {pose} {scene}, {light}, sharp focus",
    "{light}, a German Shepherd {pose} {scene}, high quality photo",
    "a candid photo of an adult German Shepherd {pose} {scene}, {light}",
]


def prompt(seed: int, index: int) -> tuple[str, dict]:
    """The prompt of image ``index`` and its parts (scene, pose, lighting)."""
    rng = np.random.default_rng([seed, index, 7])
    scene, pose, light = (list(d)[rng.integers(len(d))] for d in (SCENES, POSES, LIGHTING))
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    text = template.format(scene=SCENES[scene], pose=POSES[pose], light=LIGHTING[light])
    return text[0].upper() + text[1:], {"scene": scene, "pose": pose, "lighting": light}


def image_seed(seed: int, index: int) -> int:
    """The generator seed of image ``index`` (``torch.Generator().manual_seed(...)``)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def record(seed: int, index: int, steps: int, model_id: str = MODEL_ID) -> dict:
    """The metadata.jsonl line of image ``index``."""
    text, parts = prompt(seed, index)
    return {
        "file_name": f"{index:05d}.png",
        "text": text,
        "seed": image_seed(seed, index),
        "index": index,
        **parts,
        "model": model_id,
        "steps": steps,
    }


def load_pipeline(model_id: str = MODEL_ID, device: str = "cuda", dtype=None, offload: str = "none"):
    """``FluxPipeline.from_pretrained(model_id)`` placed on ``device``.

    ``offload="model"`` keeps one model at a time on the GPU (fits 24 GB cards,
    a little slower); ``"sequential"`` moves layer by layer (fits ~12 GB, much
    slower).
    """
    import torch
    from diffusers import FluxPipeline

    if offload not in ("none", "model", "sequential"):
        raise ValueError(f"offload must be none, model or sequential, got {offload!r}")
    if offload != "none" and not str(device).startswith("cuda"):
        raise ValueError(f"--offload {offload} moves models to a GPU; it needs --device cuda, not {device}")
    dtype = dtype or (torch.bfloat16 if str(device).startswith("cuda") else torch.float32)
    pipe = FluxPipeline.from_pretrained(model_id, torch_dtype=dtype)
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generate(
    out_dir,
    n: int,
    size: int = 256,
    seed: int = 0,
    batch_size: int = 4,
    steps: int = 4,
    device: str | None = None,
    dtype=None,
    offload: str = "none",
    gen_size: int = 512,
    max_sequence_length: int = 256,
    model_id: str = MODEL_ID,
    progress: bool = True,
) -> Path:
    """Generate ``n`` German Shepherd images into ``out_dir`` (PNG + metadata.jsonl).

    Resumable: finished images are never regenerated or rewritten, and the
    pipeline is not even loaded when nothing is left to do. ``device`` defaults
    to CUDA when available, ``dtype`` to bf16 on CUDA and float32 elsewhere.
    """
    import torch

    if n < 0 or batch_size < 1 or steps < 1:
        raise ValueError(f"need n >= 0, batch size >= 1 and steps >= 1 (got {n}, {batch_size}, {steps})")
    if not 1 <= max_sequence_length <= 256:
        raise ValueError(f"FLUX.1-schnell takes at most 256 prompt tokens, got {max_sequence_length}")
    if gen_size % 16 or gen_size < size:
        raise ValueError(f"gen_size must be a multiple of 16 and at least size ({size}), got {gen_size}")
    out = Path(out_dir)
    done = folder.prepare_output(out)
    records = [record(seed, i, steps, model_id) for i in range(n)]
    folder.check_resume(out, done, records, ("seed", "text", "steps"), size)
    todo = [r for r in records if not (out / r["file_name"]).exists()]
    with folder.MetadataWriter(out, done) as meta:
        meta.add_finished(records)
        if not todo:
            return out
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        pipe = load_pipeline(model_id, device, dtype, offload)
        bar = folder.progress_bar(len(todo), "flux", progress)
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            images = pipe(
                prompt=[r["text"] for r in batch],
                height=gen_size,
                width=gen_size,
                num_inference_steps=steps,
                guidance_scale=0.0,
                max_sequence_length=max_sequence_length,
                generator=[torch.Generator("cpu").manual_seed(r["seed"]) for r in batch],
            ).images
            for r, image in zip(batch, images):
                if image.size != (size, size):
                    image = image.resize((size, size), Image.LANCZOS)
                folder.save_image(image.convert("RGB"), out / r["file_name"])
                meta.add(r)
            bar.update(len(batch))
        bar.close()
    return out
