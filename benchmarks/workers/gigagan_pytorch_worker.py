"""Runs lucidrains' gigagan-pytorch inside its own virtualenv (it needs torchvision).

Called by ``benchmarks/bench_vs_gigagan_pytorch.py``; never imports ``gigagan`` (our package
lives in another environment with another torch). Everything it needs comes from a job
folder written by that script:

* ``job.json``: what to do (``params``, ``train_speed``, ``sample_speed`` or ``train``), model sizes, batch, budget;
* ``data.safetensors``: images (uint8 ``[N, 3, R, R]``), each image's caption index, and
  ``text``: the hidden states of *our* text encoder for every caption (zeros at padding),
  so both implementations read the same text embeddings;
* ``captions.json``: the caption strings, in the order of ``text``.

It writes ``result.json`` and, for ``train``, ``samples.safetensors`` (images in ``[-1, 1]``
for the evaluation prompts). gigagan-pytorch's text path goes through an ``OpenClipAdapter``;
we pass a subclass that looks the caption up in the table instead of running OpenCLIP (whose
weights would be downloaded). Its own trainer (``GigaGAN.train_discriminator_step`` and
``train_generator_step``) is used as shipped, with its default losses and optimiser, except
the CLIP contrastive loss, which needs a pretrained CLIP image tower.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gigagan_pytorch import Discriminator, GigaGAN, Generator
from gigagan_pytorch.open_clip import OpenClipAdapter


class TableTextAdapter(OpenClipAdapter):
    """Caption -> precomputed encoder hidden states (a buffer, so it adds no parameters)."""

    def __init__(self, captions: list[str], encodings: torch.Tensor):
        nn.Module.__init__(self)
        self.index = {c: i for i, c in enumerate(captions)}
        self.register_buffer("encodings", encodings.float())
        self._dim_latent = encodings.shape[-1]

    def embed_texts(self, texts):
        enc = self.encodings[[self.index[t] for t in texts]]
        return torch.nn.functional.normalize(enc.sum(1), dim=-1), enc


def model_kwargs(job: dict, adapter: TableTextAdapter) -> tuple[dict, dict]:
    """gigagan-pytorch ``Generator`` and ``Discriminator`` arguments for a job's sizes."""
    g, d = job["generator"], job["discriminator"]
    text = dict(dim=g["text_dim"], depth=1, clip=adapter, dim_head=16, heads=4)
    generator = dict(
        image_size=job["resolution"], dim_capacity=g["dim_capacity"], dim_max=g["dim_max"],
        dim_latent=g["dim_latent"], style_network=dict(dim=g["style_dim"], depth=2, dim_text_latent=g["text_dim"]),
        text_encoder=dict(text), self_attn_resolutions=tuple(g["attn_resolutions"]),
        cross_attn_resolutions=tuple(g["attn_resolutions"]), self_attn_dim_head=16, self_attn_heads=4,
        cross_attn_dim_head=16, cross_attn_heads=4, num_conv_kernels=g["num_conv_kernels"])
    discriminator = dict(
        image_size=job["resolution"], dim_capacity=d["dim_capacity"], dim_max=d["dim_max"],
        text_encoder=dict(text), attn_resolutions=tuple(d["attn_resolutions"]), attn_dim_head=16, attn_heads=4,
        multiscale_input_resolutions=tuple(r for r in (16, 8) if r < job["resolution"]),
        num_conv_kernels=d["num_conv_kernels"])
    return generator, discriminator


def build(job: dict, adapter: TableTextAdapter, folder: Path) -> GigaGAN:
    generator, discriminator = model_kwargs(job, adapter)
    return GigaGAN(generator=generator, discriminator=discriminator, generator_contrastive_loss_weight=0.0,
                   log_steps_every=10 ** 9, save_and_sample_every=10 ** 9, early_save_thres_steps=0,
                   model_folder=str(folder / "models"), results_folder=str(folder / "results"),
                   accelerate_kwargs=dict(cpu=not torch.cuda.is_available()))


def batches(data: dict, captions: list[str], batch: int, seed: int):
    """Endless shuffled batches of ``(images in [0, 1], captions)``, gigagan-pytorch's convention."""
    g = torch.Generator().manual_seed(seed)
    n = len(data["images"])
    while True:
        order = torch.randperm(n, generator=g)
        for i in range(0, n - batch + 1, batch):
            idx = order[i:i + batch]
            yield data["images"][idx].float() / 255.0, [captions[j] for j in data["caption_index"][idx].tolist()]


def train_step(gan: GigaGAN, it, batch: int) -> bool:
    """One step of ``GigaGAN.forward`` (gradient penalty every 4 steps), without its logging and sampling.

    Returns whether the discriminator and generator losses of the step were finite.
    """
    step = gan.steps.item()
    gp = gan.apply_gradient_penalty_every > 0 and step % gan.apply_gradient_penalty_every == 0
    ms = gan.calc_multiscale_loss_every > 0 and step % gan.calc_multiscale_loss_every == 0
    d = gan.train_discriminator_step(dl_iter=it, apply_gradient_penalty=gp, calc_multiscale_loss=ms)
    g = gan.train_generator_step(dl_iter=it, batch_size=batch, calc_multiscale_loss=ms)
    gan.steps += 1
    return all(math.isfinite(float(v)) for v in (d[0], g[0]))


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def sample(model, prompts: list[str], batch: int, seed: int):
    """Images in ``[-1, 1]`` for ``prompts`` and the seconds spent in the generator."""
    images, seconds = [], 0.0
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(prompts), batch):
            chunk = prompts[i:i + batch]
            torch.manual_seed(seed + i)
            start = time.perf_counter()
            out = model(texts=chunk, batch_size=len(chunk))
            seconds += time.perf_counter() - start
            images.append(out.clamp(0, 1) * 2 - 1)
    return torch.cat(images).float().contiguous(), seconds


def main(folder: Path) -> None:
    """Modes: ``params`` (sizes of candidate configs), ``train_speed``, ``sample_speed``, ``train``."""
    job = json.loads((folder / "job.json").read_text())
    data = load_file(str(folder / "data.safetensors"))
    captions = json.loads((folder / "captions.json").read_text())
    seed, batch = job.get("seed", 0), job["batch_size"]
    adapter = TableTextAdapter(captions, data["text"])
    if job["mode"] == "params":
        counts = {"generator": [], "discriminator": []}
        for part, cls in (("generator", Generator), ("discriminator", Discriminator)):
            for candidate in job["candidates"][part]:
                sizes = dict(job, **{part: candidate})
                kwargs = model_kwargs(sizes, adapter)[part == "discriminator"]
                counts[part].append(cls(**kwargs).total_params)
        (folder / "result.json").write_text(json.dumps({"candidates": counts}, indent=2))
        return
    torch.manual_seed(seed)
    gan = build(job, adapter, folder)
    result = {"generator_params": gan.unwrapped_G.total_params, "discriminator_params": gan.unwrapped_D.total_params,
              "torch": torch.__version__}
    prompts = [captions[i] for i in data["eval_index"].tolist()]
    if job["mode"] == "sample_speed":
        sample(gan.unwrapped_G, prompts[:batch], batch, seed)  # warm-up
        _, seconds = sample(gan.unwrapped_G, prompts, batch, seed)
        result.update(sample_images=len(prompts), sample_seconds=seconds,
                      sample_images_per_s=len(prompts) / seconds, peak_rss_gb=peak_rss_gb())
    else:  # train_speed, train
        it = batches(data, captions, batch, seed)
        for _ in range(job.get("warmup_steps", 2)):
            train_step(gan, it, batch)
        start, steps = time.perf_counter(), 0
        budget = 60 * (job.get("minutes") or 1e9)  # a key may be present with None: no limit
        max_steps = job.get("steps") or 10 ** 9
        first_nonfinite = None
        while steps < max_steps and time.perf_counter() - start < budget:
            if not train_step(gan, it, batch) and first_nonfinite is None:
                first_nonfinite = steps + 1
            steps += 1
        result["first_nonfinite_loss_step"] = first_nonfinite
        seconds = time.perf_counter() - start
        result.update(train_steps=steps, train_seconds=seconds, train_images_per_s=steps * batch / seconds,
                      peak_rss_gb=peak_rss_gb())
        if job["mode"] == "train":
            images, seconds = sample(gan.G_ema, prompts, batch, seed)
            save_file({"images": images}, str(folder / "samples.safetensors"))
            result.update(sample_seconds=seconds, sample_images_per_s=len(prompts) / seconds)
    (folder / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
