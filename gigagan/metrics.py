"""Honest metrics.

* FID and KID need the standard Inception weights. They run only when a local weights file
  is given (through torch-fidelity, ``pip install gigagan[fid]``); nothing is downloaded, and
  without weights the functions refuse with a clear message. No other number is called FID.
* Offline, for the procedural scenes, a small *probe* classifier trained on their ground truth
  (colour, shape, background, size) judges generated images: attribute accuracy against the
  prompt (text alignment), the same on held-out (colour, shape) pairs (compositional
  generalisation), and **FD-probe**, the Fréchet distance between real and generated images in
  the probe's feature space. FD-probe is not FID and is never reported as FID.
* CLIP score (mean cosine similarity of CLIP image and text embeddings) when a pretrained CLIP
  is available locally (`load_clip`); never downloaded either.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gigagan.data import procedural

HEADS = {"color": list(procedural.COLORS), "shape": list(procedural.SHAPES),
         "background": list(procedural.BACKGROUNDS), "size": list(procedural.SIZES)}
PROBE_RES = 32


class ProbeClassifier(nn.Module):
    """A small CNN with one head per attribute; ``features`` is the 128-d penultimate layer."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
            nn.Linear(4 * w, 128), nn.ReLU())  # max pooling: the object is small, its colour must survive
        self.heads = nn.ModuleDict({k: nn.Linear(128, len(v)) for k, v in HEADS.items()})

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` in ``[-1, 1]`` (any H, W) -> the probe's 32 px input."""
        if images.shape[-1] != PROBE_RES:
            images = F.interpolate(images.float(), size=(PROBE_RES, PROBE_RES), mode="area")
        return images.float()

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(self.prepare(images))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(images)
        return {k: head(h) for k, head in self.heads.items()}


def _to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float() / 127.5 - 1


def _labels(attrs: list[dict]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor([HEADS[k].index(a[k]) for a in attrs]) for k in HEADS}


def train_probe(n_images: int = 6000, epochs: int = 4, seed: int = 12345, batch: int = 128,
                size: int = PROBE_RES) -> ProbeClassifier:
    """Train the probe on freshly rendered procedural scenes (both splits), on the CPU in about a minute."""
    half = n_images // 2
    imgs_a, _, attrs_a = procedural.make_batch(seed, range(half), size, "train")
    imgs_b, _, attrs_b = procedural.make_batch(seed, range(n_images - half), size, "heldout")
    x = _to_tensor(np.concatenate([imgs_a, imgs_b]))
    y = _labels(attrs_a + attrs_b)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = ProbeClassifier()
    opt = torch.optim.Adam(probe.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            out = probe(x[idx])
            loss = sum(F.cross_entropy(out[k], y[k][idx]) for k in HEADS)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return probe.eval()


def load_probe(cache_dir: Path | None = None) -> ProbeClassifier:
    """The probe, trained once and cached (safetensors) under ``~/.cache/gigagan``."""
    from safetensors.torch import load_file, save_file

    key = hashlib.sha256(json.dumps({"heads": HEADS, "v": 2}).encode()).hexdigest()[:12]
    cache_dir = Path(cache_dir or Path.home() / ".cache" / "gigagan")
    path = cache_dir / f"probe-{key}.safetensors"
    probe = ProbeClassifier()
    if path.is_file():
        try:
            probe.load_state_dict(load_file(str(path)))
            return probe.eval()
        except Exception:  # noqa: BLE001 - a damaged cache file is simply rebuilt
            path.unlink()
    probe = train_probe()
    cache_dir.mkdir(parents=True, exist_ok=True)
    save_file(probe.state_dict(), str(path))
    return probe


@torch.no_grad()
def attribute_accuracy(probe: ProbeClassifier, images: torch.Tensor, attrs: list[dict]) -> dict[str, float]:
    """Fraction of images whose predicted attribute equals the prompt's, per attribute."""
    out = probe(images)
    labels = _labels(attrs)
    acc = {k: (out[k].argmax(1) == labels[k]).float().mean().item() for k in HEADS}
    acc["mean"] = float(np.mean(list(acc.values())))
    return acc


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr(sqrtm(A B)) = sum of the square roots of the eigenvalues of A B (real, >= 0 for PSD A, B)
    eig = np.linalg.eigvals(cov_a @ cov_b).real.clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(eig).sum())


@torch.no_grad()
def fd_probe(probe: ProbeClassifier, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """FD-probe: the Fréchet distance in the probe's feature space (not FID)."""
    return frechet_distance(probe.features(images_a).double().numpy(), probe.features(images_b).double().numpy())


def require_inception_weights(path: str | Path | None) -> Path:
    """FID/KID refuse to run without a local Inception weights file (never downloaded)."""
    if not path or not Path(path).is_file():
        raise FileNotFoundError(
            "FID and KID need the standard Inception-v3 weights as a local file "
            f"({'none given' if not path else f'{path} does not exist'}). Download "
            "pt_inception-2015-12-05-6726825d.pth once, pass it with --inception-weights PATH, and install "
            "the extra: pip install 'gigagan[fid]'. Offline, use FD-probe and attribute accuracy instead.")
    return Path(path)


def fid_kid(real_dir: Path, fake_dir: Path, inception_weights: str | Path | None) -> dict[str, float]:
    """FID and KID between two image folders with torch-fidelity and local Inception weights."""
    weights = require_inception_weights(inception_weights)
    try:
        import torch_fidelity
    except ImportError as err:
        raise ImportError("FID needs torch-fidelity: pip install 'gigagan[fid]'") from err
    result = torch_fidelity.calculate_metrics(
        input1=str(fake_dir), input2=str(real_dir), fid=True, kid=True, feature_extractor_weights_path=str(weights),
        verbose=False, kid_subset_size=min(1000, len(list(Path(fake_dir).glob("*.png")))))
    return {"fid": result["frechet_inception_distance"], "kid": result["kernel_inception_distance_mean"]}


def load_clip(name_or_path: str | Path = "openai/clip-vit-base-patch32"):
    """A pretrained CLIP (``transformers`` model and tokenizer) from a local folder or the Hugging Face cache.

    Never downloads; without the files it refuses with a message that says how to get them.
    """
    from transformers import CLIPModel, CLIPTokenizer

    try:
        model = CLIPModel.from_pretrained(str(name_or_path), local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(str(name_or_path), local_files_only=True)
    except OSError as err:
        raise FileNotFoundError(
            f"CLIP score needs a pretrained CLIP available locally; {str(name_or_path)!r} was not found "
            f"({err.__class__.__name__}). Download it once (e.g. `hf download openai/clip-vit-base-patch32`) "
            "and pass its name or folder with --clip-model.") from err
    return model.eval().requires_grad_(False), tokenizer


@torch.no_grad()
def clip_score(clip, tokenizer, images: torch.Tensor, prompts: list[str], batch: int = 64) -> float:
    """Mean cosine similarity of CLIP image and text embeddings (the paper's "CLIP score" scale, e.g. 0.32).

    ``images`` are ``[B, 3, H, W]`` in ``[-1, 1]``; each is paired with its own prompt.
    """
    from gigagan.training.clip_losses import clip_image_text_embeds

    if len(images) != len(prompts):
        raise ValueError(f"{len(images)} images but {len(prompts)} prompts; CLIP score pairs them one to one")
    sims = []
    for i in range(0, len(images), batch):
        img, txt = clip_image_text_embeds(clip, tokenizer, images[i:i + batch], prompts[i:i + batch], "cpu")
        sims.append(F.cosine_similarity(img.float(), txt.float(), dim=-1))
    return torch.cat(sims).mean().item()


@torch.no_grad()
def evaluate_pipeline(pipe, probe: ProbeClassifier, n: int = 256, seed: int = 0, truncation_psi: float = 1.0,
                      resolution: int | None = None, clip=None) -> dict:
    """Attribute accuracy on training-split and held-out prompts, and FD-probe against real scenes."""
    def sample(prompts, generator):
        return pipe(prompts, truncation_psi=truncation_psi, output_type="pt", generator=generator).images.cpu()

    return evaluate_sampler(sample, probe, resolution or pipe.generator_model.config.resolution, n, seed, clip=clip)


@torch.no_grad()
def evaluate_sampler(sample, probe: ProbeClassifier, resolution: int, n: int = 256, seed: int = 0,
                     batch: int = 64, clip=None) -> dict:
    """The same report for any text-to-image sampler (GAN, diffusion, another implementation).

    ``sample(prompts, generator)`` returns images ``[B, 3, H, W]`` in ``[-1, 1]``. The prompts
    are canonical captions of procedural attributes; each batch gets its own seeded generator.
    With ``clip=(model, tokenizer)`` (see `load_clip`) the report adds the CLIP score of the
    training-split images.
    """
    report = {}
    for split in ("train", "heldout"):
        attrs = [procedural.sample_attributes(seed + 999, i, split) for i in range(n)]
        prompts = [procedural.canonical_caption(a) for a in attrs]
        images = torch.cat([sample(prompts[i:i + batch], torch.Generator().manual_seed(seed + i)).float().cpu()
                            for i in range(0, n, batch)])
        report[f"accuracy_{split}"] = attribute_accuracy(probe, images, attrs)
        if split == "train":
            real, _, real_attrs = procedural.make_batch(seed + 999, range(n), resolution, split)
            report["fd_probe"] = fd_probe(probe, _to_tensor(real), images)
            # the probe's own accuracy on real scenes of the same prompts: the ceiling of the table
            report["accuracy_real"] = attribute_accuracy(probe, _to_tensor(real), real_attrs)
            if clip is not None:
                report["clip_score"] = clip_score(*clip, images, prompts)
    report["n"] = n
    report["chance"] = {k: 1 / len(v) for k, v in HEADS.items()}
    return report
