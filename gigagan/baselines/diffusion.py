"""A text-conditioned diffusion baseline for "GAN versus diffusion, measured".

A small diffusers ``UNet2DConditionModel`` cross-attends to the *same* text-encoder hidden
states that GigaGAN's generator reads, and is trained with the DDPM objective (predict the
added noise; Ho et al., 2020) on the same images for the same budget. It samples with DDIM at
any number of steps, with classifier-free guidance (Ho and Salimans, 2022): captions are
dropped 10% of the time in training. The components are diffusers' own; this file only wires
them together and keeps the loop short. Saved models are safetensors plus JSON.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gigagan.models.text_encoder import build_text_encoder, encode_tokens, tokenize
from gigagan.presets import get_preset
from gigagan.training.ema import ema_beta, update_ema

# About the size of the tiny preset's generator (1.69M against 1.38M parameters).
TINY_UNET = dict(
    block_out_channels=(32, 64, 64), layers_per_block=1, attention_head_dim=8, norm_num_groups=16,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"))
SCHEDULER = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon",
                 clip_sample=True)
TRAINING = dict(batch_size=16, lr=1e-3, uncond_prob=0.1, ema_halflife_kimg=1.0, ema_rampup=0.05, grad_clip=1.0)


class DiffusionBaseline:
    """UNet + noise schedule + the GigaGAN preset's text encoder; ``fit`` trains, ``sample`` draws."""

    def __init__(self, unet, text_encoder, tokenizer, preset: str = "tiny", seed: int = 0):
        from diffusers import DDPMScheduler

        self.unet, self.text_encoder, self.tokenizer = unet, text_encoder, tokenizer
        self.ema = copy.deepcopy(unet).eval().requires_grad_(False)
        self.text_encoder.requires_grad_(False).eval()
        self.preset, self.seed = preset, seed
        g = get_preset(preset)["generator"]
        self.max_length, self.hidden_layer = g["text_max_length"], g["text_hidden_layer"]
        self.resolution = unet.config.sample_size
        self.scheduler = DDPMScheduler(**SCHEDULER)
        self.images_seen = self.step = 0

    @classmethod
    def from_preset(cls, preset: str = "tiny", seed: int = 0, unet_config: dict | None = None):
        """A fresh model sized for ``preset``, with the preset's text encoder built from the same seed as a GAN run."""
        from diffusers import UNet2DConditionModel

        spec = get_preset(preset)
        text_encoder, tokenizer, _ = build_text_encoder(spec["text_encoder"], seed=seed)
        config = dict(TINY_UNET, **(unet_config or {}))
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(sample_size=spec["resolution"], in_channels=3, out_channels=3,
                                    cross_attention_dim=spec["generator"]["text_embed_dim"], **config)
        return cls(unet, text_encoder, tokenizer, preset, seed)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())

    @torch.no_grad()
    def encode(self, prompts: list[str]):
        ids, mask = tokenize(self.tokenizer, prompts, self.max_length)
        return encode_tokens(self.text_encoder, ids, mask, self.hidden_layer), mask

    def loss(self, images: torch.Tensor, embeds: torch.Tensor, mask: torch.Tensor, generator=None) -> torch.Tensor:
        """The DDPM objective: MSE between the added noise and the UNet's prediction of it."""
        noise = torch.randn(images.shape, generator=generator)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(images),), generator=generator)
        noisy = self.scheduler.add_noise(images, noise, t)
        pred = self.unet(noisy, t, encoder_hidden_states=embeds, encoder_attention_mask=mask).sample
        return F.mse_loss(pred, noise)

    def fit(self, dataset, max_minutes: float | None = None, max_steps: int | None = None, progress: bool = True,
            **overrides) -> dict:
        """Train on ``dataset`` (``(image in [-1, 1], caption)`` items) until a budget runs out."""
        if max_minutes is None and max_steps is None:
            raise ValueError("give a budget: max_minutes or max_steps (or both)")
        unknown = set(overrides) - set(TRAINING)
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}; allowed: {', '.join(sorted(TRAINING))}")
        hp = dict(TRAINING, **overrides)
        bs = int(hp["batch_size"])
        if len(dataset) < bs:
            raise ValueError(f"the dataset has {len(dataset)} images, fewer than batch_size={bs}")
        g = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.AdamW(self.unet.parameters(), lr=hp["lr"], weight_decay=0.0)
        null_embeds, null_mask = self.encode([""])
        self.unet.train()
        start, losses, order = time.perf_counter(), [], []
        bar = tqdm(total=max_steps, disable=not progress, desc="diffusion", unit="step")
        while True:
            elapsed = time.perf_counter() - start
            if (max_steps is not None and self.step >= max_steps) or (max_minutes is not None and elapsed >= 60 * max_minutes):
                break
            if len(order) < bs:
                order = torch.randperm(len(dataset), generator=g).tolist()
            items = [dataset[order.pop()] for _ in range(bs)]
            images = torch.stack([im for im, _ in items])
            embeds, mask = self.encode([text for _, text in items])
            drop = torch.rand(bs, generator=g) < hp["uncond_prob"]
            embeds = torch.where(drop[:, None, None], null_embeds[:, : embeds.shape[1]].expand_as(embeds), embeds)
            mask = torch.where(drop[:, None], null_mask[:, : mask.shape[1]].expand_as(mask), mask)
            loss = self.loss(images, embeds, mask, g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.unet.parameters(), hp["grad_clip"])
            opt.step()
            self.step += 1
            self.images_seen += bs
            update_ema(self.ema, self.unet, ema_beta(bs, self.images_seen, hp["ema_halflife_kimg"], hp["ema_rampup"]))
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", img_s=f"{self.images_seen / max(elapsed, 1e-9):.1f}")
        bar.close()
        self.unet.eval()
        seconds = time.perf_counter() - start
        return {"steps": self.step, "images": self.images_seen, "seconds": seconds,
                "images_per_s": self.images_seen / max(seconds, 1e-9),
                "final_loss": sum(losses[-50:]) / max(len(losses[-50:]), 1)}

    @torch.no_grad()
    def sample(self, prompts: list[str], steps: int = 25, guidance_scale: float = 3.0, generator=None,
               use_ema: bool = True) -> torch.Tensor:
        """DDIM sampling with classifier-free guidance; images ``[B, 3, R, R]`` in ``[-1, 1]``."""
        from diffusers import DDIMScheduler

        if steps < 1:
            raise ValueError(f"steps must be at least 1 (got {steps})")
        unet = self.ema if use_ema else self.unet
        scheduler = DDIMScheduler(**SCHEDULER, timestep_spacing="trailing")
        scheduler.set_timesteps(steps)
        embeds, mask = self.encode(list(prompts))
        null_embeds, null_mask = self.encode([""] * len(prompts))
        both_embeds, both_mask = torch.cat([null_embeds, embeds]), torch.cat([null_mask, mask])
        r = self.resolution
        x = torch.randn(len(prompts), 3, r, r, generator=generator)
        for t in scheduler.timesteps:
            eps = unet(torch.cat([x, x]), t, encoder_hidden_states=both_embeds, encoder_attention_mask=both_mask).sample
            uncond, cond = eps.chunk(2)
            x = scheduler.step(uncond + guidance_scale * (cond - uncond), t, x).prev_sample
        return x.clamp(-1, 1)

    # ---------------------------------------------------------------- saving
    def save_pretrained(self, path: str | Path) -> Path:
        """``unet/`` (the EMA weights, safetensors + config.json) and ``baseline.json``."""
        path = Path(path)
        self.ema.save_pretrained(path / "unet", safe_serialization=True)
        (path / "baseline.json").write_text(json.dumps(
            {"preset": self.preset, "seed": self.seed, "step": self.step, "images_seen": self.images_seen}, indent=2))
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path):
        from diffusers import UNet2DConditionModel

        path = Path(path)
        meta_file = path / "baseline.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{path} is not a saved diffusion baseline (no baseline.json); "
                                    "save one with DiffusionBaseline.save_pretrained")
        meta = json.loads(meta_file.read_text())
        unet = UNet2DConditionModel.from_pretrained(path / "unet", use_safetensors=True)
        text_encoder, tokenizer, _ = build_text_encoder(get_preset(meta["preset"])["text_encoder"], seed=meta["seed"])
        model = cls(unet, text_encoder, tokenizer, meta["preset"], meta["seed"])
        model.step, model.images_seen = meta["step"], meta["images_seen"]
        return model
