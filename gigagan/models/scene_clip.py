"""Scene CLIP: a tiny CLIP pretrained on the procedural scenes, the offline stand-in for OpenAI's CLIP.

GigaGAN reads its prompts through a frozen, *pretrained* CLIP text encoder (ViT-L/14). Offline
and on the CPU there is no such model, and a randomly initialised text tower is a poor stand-in:
the GAN has to learn which directions of its embedding mean "red" or "snow" from the
adversarial signal alone, which it does slowly (the ``tiny`` preset with a random tower still
had object colours at chance after 10 CPU minutes; ``benchmarks/results/tiny.json``). So we do what OpenAI did, at
toy scale: train a CLIP (transformers ``CLIPModel``: a 2-layer text transformer and a 2-layer
ViT with 4x4 patches, about 0.27M parameters) contrastively on captioned procedural scenes,
then freeze its text tower and hand it to the GAN.

It is trained once (about 40 s on 2 CPU cores) and cached under ``~/.cache/gigagan`` with
``save_pretrained`` (safetensors + config); every later run loads it with ``from_pretrained``.
Its images come from a seed of their own (``SEED``), not from the GAN's training folder, and it
never sees the probe's labels: it learns from captions only, as CLIP does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SEED = 777                  # the scene CLIP's own images: not the GAN's data (seed 0) nor the probe's
DEFAULTS = {"width": 64, "layers": 2, "heads": 4, "max_length": 24, "image_size": 32, "patch_size": 4,
            "projection_dim": 64, "n_images": 8000, "steps": 400, "batch_size": 128, "lr": 2e-3}
CONFIG_KEYS = ("width", "layers", "heads", "max_length", "image_size", "patch_size", "projection_dim")
_VERSION = 1                # bump when the training recipe changes: the cache key includes it


def clip_config(vocab_size: int, width: int = 64, layers: int = 2, heads: int = 4, max_length: int = 24,
                image_size: int = 32, patch_size: int = 4, projection_dim: int = 64):
    """A small transformers ``CLIPConfig`` (text and vision towers of the same width)."""
    from transformers import CLIPConfig

    from gigagan.models.text_encoder import tiny_clip_config

    text = tiny_clip_config(vocab_size, width, layers, heads, max_length).to_dict()
    vision = dict(image_size=image_size, patch_size=patch_size, hidden_size=width, intermediate_size=4 * width,
                  num_hidden_layers=layers, num_attention_heads=heads)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection_dim)


def _embeds(output) -> torch.Tensor:
    return F.normalize(output if torch.is_tensor(output) else output.pooler_output, dim=-1)


def _pixels(images_uint8: np.ndarray) -> torch.Tensor:
    from gigagan.training.clip_losses import clip_pixels

    x = torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float() / 127.5 - 1
    return clip_pixels(x, x.shape[-1])


def contrastive_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss on L2-normalised embeddings (row i of each is a matching pair)."""
    logits = logit_scale * image_embeds @ text_embeds.t()
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def train_scene_clip(width: int = 64, layers: int = 2, heads: int = 4, max_length: int = 24, image_size: int = 32,
                     patch_size: int = 4, projection_dim: int = 64, n_images: int = 8000, steps: int = 400,
                     batch_size: int = 128, lr: float = 2e-3, seed: int = SEED, progress: bool = True):
    """Train a scene CLIP from scratch; returns ``(model, tokenizer, report)``.

    Images and captions are rendered from ``seed`` (training split only, so the held-out
    (colour, shape) pairs stay unseen); AdamW with a one-cycle schedule.
    """
    from tqdm.auto import tqdm
    from transformers import CLIPModel

    from gigagan.data import procedural
    from gigagan.models.text_encoder import offline_tokenizer

    start = time.perf_counter()
    tokenizer = offline_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(clip_config(len(tokenizer), width, layers, heads, max_length, image_size, patch_size,
                                      projection_dim))
    images, captions, _ = procedural.make_batch(seed, range(n_images), image_size, "train")
    pixels = _pixels(images)
    tokens = tokenizer(list(captions), padding="max_length", max_length=max_length, truncation=True,
                       return_tensors="pt")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1) if steps else None
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), desc="scene CLIP", unit="step", disable=not progress, dynamic_ncols=True):
        idx = torch.randint(0, n_images, (batch_size,), generator=g)
        image_embeds = _embeds(model.get_image_features(pixel_values=pixels[idx]))
        text_embeds = _embeds(model.get_text_features(input_ids=tokens["input_ids"][idx],
                                                      attention_mask=tokens["attention_mask"][idx]))
        loss = contrastive_loss(image_embeds, text_embeds, model.logit_scale.exp())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    model.eval().requires_grad_(False)
    report = {"steps": steps, "n_images": n_images, "batch_size": batch_size, "seed": seed,
              "final_loss": float(np.mean(losses[-20:])) if losses else None, "seconds": time.perf_counter() - start,
              "parameters": sum(p.numel() for p in model.parameters())}
    report["zero_shot_accuracy"] = zero_shot_accuracy(model, tokenizer, max_length=max_length)
    return model, tokenizer, report


@torch.no_grad()
def zero_shot_accuracy(model, tokenizer, n: int = 128, seed: int = 4242, max_length: int = 24,
                       keys=("color", "background", "shape")) -> dict[str, float]:
    """For fresh scenes, how often the true value of an attribute gives the closest caption.

    For each image and attribute, the candidates are the canonical captions that differ from
    the true one in that attribute only; chance is 1/8 for each of these attributes.
    """
    from gigagan.data import procedural

    vocab = {"color": list(procedural.COLORS), "background": procedural.BACKGROUNDS, "shape": procedural.SHAPES}
    images, _, attrs = procedural.make_batch(seed, range(n), model.config.vision_config.image_size, "train")
    image_embeds = _embeds(model.get_image_features(pixel_values=_pixels(images)))
    out = {}
    for key in keys:
        captions = [procedural.canonical_caption(dict(a, **{key: v})) for a in attrs for v in vocab[key]]
        tokens = tokenizer(captions, padding="max_length", max_length=max_length, truncation=True, return_tensors="pt")
        text_embeds = _embeds(model.get_text_features(**tokens)).reshape(n, len(vocab[key]), -1)
        best = torch.einsum("nkd,nd->nk", text_embeds, image_embeds).argmax(1)
        truth = torch.tensor([vocab[key].index(a[key]) for a in attrs])
        out[key] = (best == truth).float().mean().item()
    return out


def save(model, tokenizer, report: dict, folder: Path) -> Path:
    """``folder/``: the whole CLIP (for ``--clip-model``), ``text_encoder/`` alone, tokenizer, report."""
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    _text_encoder(model).save_pretrained(folder / "text_encoder")
    (folder / "scene_clip.json").write_text(json.dumps(report, indent=1))
    return folder


def _text_encoder(model):
    """The text tower of a ``CLIPModel`` as a stand-alone ``CLIPTextModel`` (same weights)."""
    from transformers import CLIPTextModel

    text = CLIPTextModel(model.config.text_config)
    prefix = "text_model."
    weights = {k[len(prefix):]: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    # transformers 4 nests the tower under .text_model, transformers 5 does not
    (text.text_model if hasattr(text, "text_model") else text).load_state_dict(weights)
    return text.eval().requires_grad_(False)


def cache_folder(cache_dir: Path | None = None, **options) -> Path:
    settings = dict(DEFAULTS, **options)
    key = hashlib.sha256(json.dumps({"v": _VERSION, **settings}, sort_keys=True).encode()).hexdigest()[:12]
    root = Path(cache_dir or os.environ.get("GIGAGAN_CACHE") or Path.home() / ".cache" / "gigagan")
    return root / f"scene-clip-{key}"


def load_text_encoder(folder: Path):
    """``(CLIPTextModel, CLIPTokenizer)`` from a scene-CLIP folder, frozen; clear error when damaged."""
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    try:
        tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
        model = CLIPTextModel.from_pretrained(folder / "text_encoder", local_files_only=True, use_safetensors=True)
    except Exception as err:  # noqa: BLE001 - OSError, safetensors and JSON errors alike
        raise FileNotFoundError(f"scene CLIP at {folder} is missing or damaged ({err.__class__.__name__}: {err}); "
                                "delete the folder and it is trained again (about a minute on the CPU)") from err
    return model.eval().requires_grad_(False), tokenizer


def ensure_scene_clip(cache_dir: Path | None = None, progress: bool = True, log=print, **options) -> Path:
    """The cached scene-CLIP folder, trained first when missing or damaged.

    Training writes to a temporary folder that is renamed when complete, so an interrupted
    run never leaves a half-written cache, and two processes may race safely.
    """
    folder = cache_folder(cache_dir, **options)
    if (folder / "scene_clip.json").is_file():
        try:
            load_text_encoder(folder)
            return folder
        except FileNotFoundError as err:
            log(f"{err}; training it again")
            shutil.rmtree(folder, ignore_errors=True)
    log(f"training the scene CLIP (once; cached in {folder})")
    model, tokenizer, report = train_scene_clip(progress=progress, **dict(DEFAULTS, **options))
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    save(model, tokenizer, report, tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    acc = report["zero_shot_accuracy"]
    log(f"scene CLIP: {report['steps']} steps in {report['seconds']:.0f} s, zero-shot accuracy "
        + ", ".join(f"{k} {v:.2f}" for k, v in acc.items()))
    return folder
