"""The GigaGAN training loop, after stylegan2-ada-pytorch.

One run is one folder: ``config.json``, ``checkpoints/epoch_0005/``, ``samples/epoch_0005.png``
(3x3 grid, fixed prompts and latents, from the EMA generator), ``metrics.jsonl``,
``loss.png`` and ``progress.gif``. Each step trains D (GAN loss + matching-aware loss,
lazy R1) then G (non-saturating loss + matching-aware loss), then updates the EMA.
Non-finite losses or gradients skip the step; repeated failures roll back to the last
checkpoint with a lower learning rate. ``resume`` continues from the newest valid
checkpoint, bit-identically on the CPU.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from gigagan import viz
from gigagan.models import GigaGANDiscriminator, GigaGANGenerator, build_text_encoder, image_pyramid
from gigagan.models.text_encoder import encode_tokens, tokenize
from gigagan.presets import get_preset
from gigagan.training import checkpoint as ckpt
from gigagan.training import distributed as dist_utils
from gigagan.training import losses
from gigagan.training.ema import ema_beta, update_ema

GRID_SEED = 1234


@dataclass
class TrainConfig:
    """Everything a run needs; saved as ``config.json`` in the run folder."""

    preset: str = "tiny"
    data: str = ""
    out: str = "runs/tiny"
    epochs: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    batch_size: int | None = None
    seed: int = 0
    snapshot_every: int | None = None
    device: str = "auto"
    text_encoder: str | None = None
    caption: str | None = None
    skip_bad: bool = False
    max_images: int | None = None
    overrides: dict = field(default_factory=dict)
    log_every: int = 10
    grid_prompts: list | None = None
    clip_model: str | None = None
    progress: bool = True


def apply_overrides(preset: dict, overrides: dict) -> dict:
    """``{"generator.channel_max": 32, "training.g_lr": 1e-3}`` -> edited copy of the preset."""
    preset = copy.deepcopy(preset)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section not in ("generator", "discriminator", "training") or not name:
            raise ValueError(f"override {key!r} must look like generator.NAME, discriminator.NAME or training.NAME")
        if name not in preset[section]:
            raise ValueError(f"unknown setting {key!r}; allowed: {', '.join(sorted(preset[section]))}")
        preset[section][name] = value
    return preset


class Trainer:
    def __init__(self, config: TrainConfig, log=None):
        self.cfg = config
        self.dist = dist_utils.setup(config.device)
        self.device = self.dist.device
        self.log = log or (lambda msg: tqdm.write(msg) if self.dist.is_main else None)
        self.run_dir = Path(config.out)
        self.preset = apply_overrides(get_preset(config.preset, config.text_encoder), config.overrides)
        self.hp = dict(self.preset["training"])
        for key in ("batch_size", "snapshot_every", "epochs"):
            if getattr(config, key) is not None:
                self.hp[key] = getattr(config, key)
        self.hp["batch_size"] = int(self.hp["batch_size"])
        if self.hp["batch_size"] % self.dist.world_size:
            raise ValueError(f"batch_size={self.hp['batch_size']} must be divisible by the number of "
                             f"processes ({self.dist.world_size})")
        self._build_data()
        self._build_models()
        self._build_optimizers()
        self.step = self.epoch = self.batch_in_epoch = self.images_seen = 0
        self.bad_steps = self.consecutive_bad = self.rollbacks = 0
        self.lr_scale = 1.0
        self.noise = torch.Generator(device="cpu").manual_seed(config.seed * 1000 + self.dist.rank)
        self.py_rng = random.Random(config.seed * 1000 + self.dist.rank)
        self.grid_prompts, self.grid_z = self._grid_inputs()

    # ------------------------------------------------------------------ set-up
    def _build_data(self):
        from gigagan.data.dataset import CaptionedImageDataset

        res = self.preset["resolution"]
        self.dataset = CaptionedImageDataset(self.cfg.data, res, caption=self.cfg.caption, skip_bad=self.cfg.skip_bad,
                                             progress=self.cfg.progress and self.dist.is_main)
        if self.cfg.max_images:
            self.indices = list(range(min(len(self.dataset), self.cfg.max_images)))
        else:
            self.indices = list(range(len(self.dataset)))
        if len(self.indices) < self.hp["batch_size"]:
            raise ValueError(f"the dataset has {len(self.indices)} usable images, fewer than batch_size="
                             f"{self.hp['batch_size']}; lower --batch-size or add images")
        self.captions = [self.dataset.records[i]["text"] for i in self.indices]
        if self.dataset.skipped:
            self.log(f"skipped {len(self.dataset.skipped)} bad inputs (--skip-bad)")

    def _build_models(self):
        torch.manual_seed(self.cfg.seed)
        self.text_encoder, self.tokenizer, from_hub = build_text_encoder(self.preset["text_encoder"],
                                                                           seed=self.cfg.seed)
        # Our offline encoders (scene CLIP, random tower) stay frozen by default, like the paper's
        # CLIP: trained by G alone, a tower learns to erase the text information D judges G on.
        self.text_is_ours = not from_hub  # its weights travel in every checkpoint
        self.train_text = self.text_is_ours and bool(self.hp.get("train_text_encoder", False))
        self.text_encoder.requires_grad_(self.train_text).train(self.train_text)
        self.G = GigaGANGenerator(**self.preset["generator"])
        self.D = GigaGANDiscriminator(**self.preset["discriminator"])
        from gigagan.models.config_checks import check_text_width

        check_text_width(self.G.config.text_embed_dim, self.text_encoder.config.hidden_size)
        for m in (self.text_encoder, self.G, self.D):
            m.to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.text_ema = copy.deepcopy(self.text_encoder).eval().requires_grad_(False) if self.train_text else None
        if self.device.type == "cpu" and self.hp.get("channels_last", True):
            for m in (self.G, self.D, self.G_ema):
                to_channels_last(m)
        self.autocast = self.device.type == "cuda"
        self.clip = self._load_clip()

    def _load_clip(self):
        """A pretrained CLIP for the CLIP and vision-aided losses, when one is found locally."""
        self.vision_head = None
        want = self.hp["clip_weight"] > 0 or self.hp["vision_weight"] > 0 or self.cfg.clip_model
        if not want:
            self.log("CLIP contrastive loss and vision-aided loss: off (no pretrained CLIP given; "
                     "pass --clip-model PATH to a local CLIP to turn them on)")
            return None
        from transformers import CLIPModel, CLIPTokenizer

        from gigagan.training.clip_losses import VisionAidedHead

        name = self.cfg.clip_model or "openai/clip-vit-base-patch32"
        try:
            model = CLIPModel.from_pretrained(name, local_files_only=True)
            self.clip_tokenizer = CLIPTokenizer.from_pretrained(name, local_files_only=True)
        except OSError:
            self.log(f"CLIP contrastive loss and vision-aided loss: off (no pretrained CLIP found locally at {name!r})")
            return None
        model = model.to(self.device).eval().requires_grad_(False)
        for key in ("clip_weight", "vision_weight"):
            self.hp[key] = self.hp[key] or 1.0
        self.vision_head = VisionAidedHead(model.config.projection_dim).to(self.device)
        self.log(f"CLIP contrastive loss (weight {self.hp['clip_weight']}) and vision-aided loss "
                 f"(weight {self.hp['vision_weight']}): on, with the CLIP at {name!r}")
        return model

    def _param_groups(self, module, lr, wd):
        attn, other = [], []
        for name, p in module.named_parameters():
            if p.requires_grad:
                (attn if "attn" in name else other).append(p)
        return [{"params": other, "lr": lr, "weight_decay": self.hp["weight_decay"]},
                {"params": attn, "lr": lr, "weight_decay": wd}]

    def _build_optimizers(self):
        hp, wd = self.hp, self.hp["attn_weight_decay"]
        beta1, beta2 = hp["betas"]
        g_groups = self._param_groups(self.G, hp["g_lr"], wd)
        if self.train_text:
            g_groups.append({"params": list(self.text_encoder.parameters()), "lr": hp["g_lr"], "weight_decay": 0.0})
        # lazy regularisation: D's lr and betas are rescaled for the R1 steps it also takes
        ratio = hp["r1_interval"] / (hp["r1_interval"] + 1) if hp["r1_interval"] else 1.0
        d_groups = self._param_groups(self.D, hp["d_lr"] * ratio, wd)
        if self.vision_head is not None:
            d_groups.append({"params": list(self.vision_head.parameters()), "lr": hp["d_lr"] * ratio,
                             "weight_decay": 0.0})
        self.opt_G = torch.optim.AdamW(g_groups, betas=(beta1, beta2))
        self.opt_D = torch.optim.AdamW(d_groups, betas=(beta1 ** ratio, beta2 ** ratio))
        self.base_lrs = [[g["lr"] for g in o.param_groups] for o in (self.opt_G, self.opt_D)]

    def _grid_inputs(self):
        prompts = self.cfg.grid_prompts or sorted(set(self.captions), key=lambda c: (hash_text(c), c))[:9]
        prompts = (list(prompts) * 9)[:9]
        z = torch.randn(9, self.G.config.z_dim, generator=torch.Generator().manual_seed(GRID_SEED))
        return prompts, z

    # ------------------------------------------------------------------ pieces
    def encode(self, captions, encoder=None):
        encoder = encoder or self.text_encoder
        ids, mask = tokenize(self.tokenizer, captions, self.G.config.text_max_length, self.device)
        return encode_tokens(encoder, ids, mask, self.G.config.text_hidden_layer), mask

    def epoch_order(self, epoch: int) -> list[int]:
        g = torch.Generator().manual_seed(self.cfg.seed * 100003 + epoch)
        order = torch.randperm(len(self.indices), generator=g).tolist()
        usable = len(order) - len(order) % self.hp["batch_size"]
        return order[:usable]

    def batch(self, positions):
        per_rank = len(positions) // self.dist.world_size
        mine = positions[self.dist.rank * per_rank:(self.dist.rank + 1) * per_rank]
        items = [self.dataset[self.indices[p]] for p in mine]
        images = torch.stack([im for im, _ in items]).to(self.device)
        if self.device.type == "cpu":
            images = images.contiguous(memory_format=torch.channels_last)
        return images, [text for _, text in items]

    def _randn(self, n):
        return torch.randn(n, self.G.config.z_dim, generator=self.noise).to(self.device)

    def _d_step(self, real, captions, embeds, mask, mis_embeds, mis_mask, do_r1):
        hp = self.hp
        levels = self.D.levels
        with torch.no_grad(), torch.autocast(self.device.type, torch.bfloat16, enabled=self.autocast):
            fake = [f.float() for f in self.G(self._randn(len(real)), embeds, mask)]
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.autocast):
            real_pyr = image_pyramid(real, levels)
            both = [torch.cat([r, f, r, f]) for r, f in zip(real_pyr, fake)]
            preds = self.D(both, torch.cat([embeds, embeds, mis_embeds, mis_embeds]),
                           torch.cat([mask, mask, mis_mask, mis_mask]))
            part = lambda k: chunk(preds, k, len(real))  # noqa: E731
            loss_gan = losses.d_loss_real(part(0)) + losses.d_loss_fake(part(1))
            loss_match = losses.matching_aware_d_loss(part(2), part(3))
            loss = loss_gan + hp["matching_weight"] * loss_match
            if self.vision_head is not None:
                loss_vision = self._vision_d_loss(real, fake[0], captions)
                loss = loss + hp["vision_weight"] * loss_vision
        stats = {"loss_d": loss_gan.item(), "loss_d_match": loss_match.item(),
                 "d_real": sum(v.mean() for v in part(0).values()).item() / len(preds),
                 "d_fake": sum(v.mean() for v in part(1).values()).item() / len(preds)}
        if self.vision_head is not None:
            stats["loss_d_vision"] = loss_vision.item()
        loss = self.maybe_inject_nan(loss, "d")
        ok = torch.isfinite(loss).item()
        self.opt_D.zero_grad(set_to_none=True)
        if ok:
            loss.backward()
        if ok and do_r1 and hp["r1_gamma"] > 0:
            score = lambda x: losses.real_scores(self.D(image_pyramid(x, levels), embeds, mask))  # noqa: E731
            r1 = losses.r1_penalty(score, real)
            (r1 * hp["r1_gamma"] * hp["r1_interval"]).backward()
            stats["r1"] = r1.item()
            ok = math.isfinite(stats["r1"])
        params = list(self.D.parameters()) + (list(self.vision_head.parameters()) if self.vision_head else [])
        return ok, stats, params, self.opt_D

    def _g_step(self, captions, mis_embeds, mis_mask):
        hp = self.hp
        embeds, mask = self.encode(captions)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.autocast):
            fake = self.G(self._randn(len(captions)), embeds, mask, update_w_avg=True)
            both = [torch.cat([f, f]) for f in fake]
            preds = self.D(both, torch.cat([embeds, mis_embeds.detach()]), torch.cat([mask, mis_mask]))
            part = lambda k: chunk(preds, k, len(captions))  # noqa: E731
            loss_gan = losses.g_loss_nonsaturating(part(0))
            loss_match = losses.matching_aware_g_loss(part(0), part(1))
            loss = loss_gan + hp["matching_weight"] * loss_match
            if self.clip is not None:
                loss_clip, loss_vision = self._clip_g_losses(fake[0], captions)
                loss = loss + hp["clip_weight"] * loss_clip + hp["vision_weight"] * loss_vision
        stats = {"loss_g": loss_gan.item(), "loss_g_match": loss_match.item()}
        if self.clip is not None:
            stats.update(loss_clip=loss_clip.item(), loss_g_vision=loss_vision.item())
        loss = self.maybe_inject_nan(loss, "g")
        ok = torch.isfinite(loss).item()
        self.opt_G.zero_grad(set_to_none=True)
        if ok:
            loss.backward()
        params = list(self.G.parameters()) + (list(self.text_encoder.parameters()) if self.train_text else [])
        return ok, stats, params, self.opt_G

    def _clip_g_losses(self, images, captions):
        """CLIP contrastive loss (Eq. 9) and the generator's vision-aided loss."""
        from gigagan.training.clip_losses import clip_image_text_embeds

        img, txt = clip_image_text_embeds(self.clip, self.clip_tokenizer, images, captions, self.device)
        contrastive = losses.clip_contrastive_loss(img, txt, self.clip.logit_scale.exp())
        vision = torch.nn.functional.softplus(-self.vision_head(img, txt)).mean()
        return contrastive, vision

    def _vision_d_loss(self, real, fake, captions):
        from gigagan.training.clip_losses import clip_image_text_embeds

        with torch.no_grad():
            real_e, txt = clip_image_text_embeds(self.clip, self.clip_tokenizer, real, captions, self.device)
            fake_e, _ = clip_image_text_embeds(self.clip, self.clip_tokenizer, fake, captions, self.device)
        softplus = torch.nn.functional.softplus
        return softplus(-self.vision_head(real_e, txt)).mean() + softplus(self.vision_head(fake_e, txt)).mean()

    def maybe_inject_nan(self, loss, which):
        """Test hook: ``trainer.inject_nan = {(step, 'g'), ...}`` turns those losses into NaN (once each)."""
        injected = getattr(self, "inject_nan", set())
        if (self.step, which) in injected:
            injected.discard((self.step, which))
            return loss * float("nan")
        return loss

    def _apply(self, ok, params, opt, name, stats):
        """All-reduce, clip, check and step; returns False when the step must be skipped.

        Every rank takes the same path: the loss check is agreed before gradients are
        exchanged (a rank with a non-finite loss has no gradients), and the gradient-norm
        check is made after the all-reduce, on identical values.
        """
        if not dist_utils.all_agree(ok, self.dist):
            opt.zero_grad(set_to_none=True)
            return False
        params = [p for p in params if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        dist_utils.average_gradients(params, self.dist)
        norm = torch.nn.utils.clip_grad_norm_(params, self.hp["grad_clip"]) if params else torch.tensor(0.0)
        if not torch.isfinite(norm):
            opt.zero_grad(set_to_none=True)
            return False
        opt.step()
        stats[f"grad_norm_{name}"] = float(norm)
        return True

    # ------------------------------------------------------------------ the loop
    def train_step(self, real, captions) -> dict:
        hp = self.hp
        if hp["matching_weight"]:
            mis = losses.mismatched_captions(captions, self.captions, self.py_rng)
        else:  # no matching-aware loss: the "mismatched" half is unused (weight 0)
            mis = captions
        with torch.no_grad():
            embeds, mask = self.encode(captions)
            mis_embeds, mis_mask = self.encode(mis)
        do_r1 = hp["r1_interval"] > 0 and self.step % hp["r1_interval"] == 0
        stats = {}
        ok_d, s, params, opt = self._d_step(real, captions, embeds, mask, mis_embeds, mis_mask, do_r1)
        stats.update(s)
        if "r1" in stats:  # R1 runs every r1_interval steps; the log carries its latest value
            self.last_r1 = stats["r1"]
        elif getattr(self, "last_r1", None) is not None:
            stats["r1"] = self.last_r1
        ok_d = self._apply(ok_d, params, opt, "d", stats)
        self.D.requires_grad_(False)
        ok_g, s, params, opt = self._g_step(captions, mis_embeds, mis_mask)
        self.D.requires_grad_(True)
        stats.update(s)
        ok_g = self._apply(ok_g, params, opt, "g", stats)
        dist_utils.average_buffers(self.G, self.dist)
        ok = ok_d and ok_g
        self.images_seen += hp["batch_size"]
        beta = ema_beta(hp["batch_size"], self.images_seen, hp["ema_halflife_kimg"], hp["ema_rampup"])
        update_ema(self.G_ema, self.G, beta)
        if self.text_ema is not None:
            update_ema(self.text_ema, self.text_encoder, beta)
        stats["skipped"] = not ok
        return stats

    def fit(self) -> Path:
        """Train until the epoch, step or time budget runs out; returns the run folder."""
        hp, cfg = self.hp, self.cfg
        if self.dist.is_main:
            self._write_run_config()
        start = time.time()
        steps_per_epoch = len(self.epoch_order(0)) // hp["batch_size"]
        total = hp["epochs"] * steps_per_epoch
        if cfg.max_steps is not None:
            total = min(total, cfg.max_steps)
        self.log(f"training {cfg.preset} on {len(self.indices)} images ({steps_per_epoch} steps/epoch, "
                 f"batch {hp['batch_size']}, {self.dist.world_size} process(es), device {self.device}); "
                 f"run folder {self.run_dir}")
        bar = tqdm(total=total, initial=min(self.step, total), disable=not (cfg.progress and self.dist.is_main),
                   desc="train", unit="step", dynamic_ncols=True)
        tick_time, tick_images, stop_reason = time.time(), self.images_seen, None
        while self.step < total and stop_reason is None:
            order = self.epoch_order(self.epoch)
            while self.batch_in_epoch < steps_per_epoch and self.step < total:
                b = self.batch_in_epoch * hp["batch_size"]
                real, captions = self.batch(order[b:b + hp["batch_size"]])
                stats = self.train_step(real, captions)
                self.step += 1
                self.batch_in_epoch += 1
                if self._track_failures(stats):
                    bar.reset(total=total)
                    bar.update(self.step)
                    tick_time, tick_images = time.time(), self.images_seen
                    break  # the epoch order is recomputed for the restored epoch
                if self.step % cfg.log_every == 0 or self.step == total:
                    now = time.time()
                    stats["images_per_s"] = (self.images_seen - tick_images) / max(now - tick_time, 1e-9)
                    tick_time, tick_images = now, self.images_seen
                    self._log_metrics(stats)
                    bar.set_postfix(d=f"{stats['loss_d']:.3f}", g=f"{stats['loss_g']:.3f}",
                                    ips=f"{stats['images_per_s']:.0f}")
                bar.update(1)
                if cfg.max_minutes is not None and dist_utils.any_rank(
                        time.time() - start > cfg.max_minutes * 60, self.dist):
                    stop_reason = f"time budget of {cfg.max_minutes} min"
                    break
            if self.batch_in_epoch >= steps_per_epoch:
                self.epoch += 1
                self.batch_in_epoch = 0
                if self.epoch % hp["snapshot_every"] == 0 or self.step >= total:
                    self.snapshot(f"epoch_{self.epoch:04d}")
        bar.close()
        if self.step >= total and stop_reason is None:
            stop_reason = "step budget" if cfg.max_steps is not None and self.step >= cfg.max_steps else "epochs done"
        if not self._last_snapshot_is_current():
            self.snapshot(f"step_{self.step:08d}")
        if self.dist.is_main:
            self.finish()
        self.log(f"stopped after {self.step} steps ({self.images_seen} images, epoch {self.epoch}): {stop_reason}. "
                 f"Outputs in {self.run_dir}")
        return self.run_dir

    def _track_failures(self, stats) -> bool:
        """Count skipped steps; returns True when the run rolled back to a checkpoint."""
        if not stats["skipped"]:
            self.consecutive_bad = 0
            return False
        self.bad_steps += 1
        self.consecutive_bad += 1
        self.log(f"step {self.step}: non-finite loss or gradient, step skipped ({self.bad_steps} skipped so far)")
        if self.consecutive_bad >= self.hp["max_bad_steps"]:
            self.rollback()
            return True
        return False

    def rollback(self):
        path = ckpt.newest_valid_checkpoint(self.run_dir, self.log)
        if self.rollbacks >= self.hp.get("max_rollbacks", 3):
            raise RuntimeError(f"training diverged: rolled back {self.rollbacks} times and the losses are still "
                               "not finite; lower the learning rate (--set training.g_lr=...) or check the data")
        if path is None:
            raise RuntimeError(f"training diverged: {self.consecutive_bad} steps in a row had non-finite losses "
                               "and there is no checkpoint to roll back to; lower the learning rate")
        skipped, rollbacks, scale = self.bad_steps, self.rollbacks + 1, self.lr_scale
        self.load(path)
        self.bad_steps, self.rollbacks, self.consecutive_bad = skipped, rollbacks, 0
        self.lr_scale = scale * 0.5
        self._set_lr()
        self.log(f"rolled back to {path.name} after repeated non-finite steps; learning rate now "
                 f"x{self.lr_scale:g} of the configured value")

    def _set_lr(self):
        for opt, base in zip((self.opt_G, self.opt_D), self.base_lrs):
            for group, lr in zip(opt.param_groups, base):
                group["lr"] = lr * self.lr_scale

    def _log_metrics(self, stats):
        if not self.dist.is_main:
            return
        record = {"step": self.step, "epoch": self.epoch, "kimg": self.images_seen / 1000,
                  "bad_steps": self.bad_steps, **{k: v for k, v in stats.items() if k != "skipped"}}
        if self.device.type == "cuda":
            record["peak_mem_gb"] = torch.cuda.max_memory_allocated(self.device) / 2 ** 30
        else:
            record["peak_rss_gb"] = peak_rss_gb()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------ files
    def _write_run_config(self):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "config.json"
        self.tokenizer.save_pretrained(self.run_dir / "tokenizer")
        data = {"train": asdict(self.cfg), "preset": self.preset, "hyperparameters": self.hp}
        path.write_text(json.dumps(data, indent=1, default=list))

    def state_tensors(self) -> tuple[dict, dict]:
        tensors = {"G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict()}
        if self.vision_head is not None:
            tensors["vision_head"] = self.vision_head.state_dict()
        if self.text_is_ours:
            tensors["text_encoder"] = self.text_encoder.state_dict()
        if self.train_text:
            tensors["text_encoder_ema"] = self.text_ema.state_dict()
        opt_meta = {}
        for name, opt in (("optim_G", self.opt_G), ("optim_D", self.opt_D)):
            tensors[name], opt_meta[name] = ckpt.optimizer_tensors(opt)
        tensors["rng"] = {"noise": self.noise.get_state(), "torch": torch.get_rng_state()}
        return tensors, opt_meta

    def snapshot(self, name: str):
        """Checkpoint + 3x3 grid (rank 0 writes; every rank waits for it)."""
        if self.dist.is_main:
            tensors, opt_meta = self.state_tensors()
            state = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                     "images_seen": self.images_seen, "bad_steps": self.bad_steps, "rollbacks": self.rollbacks,
                     "lr_scale": self.lr_scale, "optimizers": opt_meta, "python_rng": _jsonable(self.py_rng.getstate()),
                     "preset_name": self.cfg.preset, "preset": self.preset, "hyperparameters": self.hp,
                     "seed": self.cfg.seed, "world_size": self.dist.world_size}
            ckpt.save_checkpoint(self.run_dir / "checkpoints" / name, tensors, json.loads(json.dumps(state, default=list)))
            self.save_grid(self.run_dir / "samples" / f"{name}.png", _label(name))
        dist_utils.barrier(self.dist)
        self._last_snapshot_step = self.step

    def _last_snapshot_is_current(self):
        return getattr(self, "_last_snapshot_step", None) == self.step

    @torch.no_grad()
    def sample(self, prompts, z, truncation_psi=1.0):
        encoder = self.text_ema if self.text_ema is not None else self.text_encoder
        embeds, mask = self.encode(prompts, encoder)
        return self.G_ema(z.to(self.device), embeds, mask, truncation_psi=truncation_psi)[0].float()

    def save_grid(self, path: Path, label: str):
        from gigagan.pipeline import to_uint8

        images = to_uint8(self.sample(self.grid_prompts, self.grid_z))
        path.parent.mkdir(parents=True, exist_ok=True)
        viz.make_grid(images, nrow=3, cell=128, captions=self.grid_prompts, title=label).save(path)

    def finish(self):
        """``loss.png`` and ``progress.gif`` from what the run wrote."""
        metrics = self.run_dir / "metrics.jsonl"
        if metrics.exists():
            viz.plot_losses(metrics, self.run_dir / "loss.png")
        frames = sorted((self.run_dir / "samples").glob("*.png"), key=self._frame_step)
        if frames:
            viz.save_gif(frames, self.run_dir / "progress.gif", labels=[_label(f.stem) for f in frames])

    def _frame_step(self, path: Path):
        """Order grids by the training step of their checkpoint (epochs and budget stops interleave)."""
        try:
            return (ckpt.read_state(self.run_dir / "checkpoints" / path.stem)["step"], path.stem)
        except (ckpt.CheckpointError, KeyError):
            return (path.stat().st_mtime, path.stem)

    def load(self, path: Path):
        """Restore every state (weights, optimizers, RNGs, counters) from a checkpoint."""
        tensors, state = ckpt.load_checkpoint(path)
        if state.get("preset") and state["preset"]["generator"] != json.loads(json.dumps(self.preset["generator"], default=list)):
            raise ckpt.CheckpointError(f"checkpoint {path} was trained with other generator settings "
                                       f"(preset {state.get('preset_name')!r}); resume with the same preset and overrides")
        saved_batch = state.get("hyperparameters", {}).get("batch_size", self.hp["batch_size"])
        if saved_batch != self.hp["batch_size"]:
            raise ValueError(f"checkpoint {path} was trained with batch_size={saved_batch}; resume with the same "
                             f"batch size (got {self.hp['batch_size']}) or start a new run")
        if ("vision_head" in tensors) != (self.vision_head is not None):
            raise ckpt.CheckpointError(
                f"checkpoint {path} was trained {'with' if 'vision_head' in tensors else 'without'} the CLIP losses "
                "and this run is configured the other way; resume with the same --clip-model setting")
        for name, module in (("G", self.G), ("G_ema", self.G_ema), ("D", self.D)):
            ckpt.load_state_dict_strict(module, tensors[name], name)
        if self.vision_head is not None:
            ckpt.load_state_dict_strict(self.vision_head, tensors["vision_head"], "vision-aided head")
        if self.text_is_ours:
            ckpt.load_state_dict_strict(self.text_encoder, tensors["text_encoder"], "text encoder")
        if self.train_text:
            ckpt.load_state_dict_strict(self.text_ema, tensors["text_encoder_ema"], "text encoder EMA")
        ckpt.load_optimizer(self.opt_G, tensors["optim_G"], state["optimizers"]["optim_G"])
        ckpt.load_optimizer(self.opt_D, tensors["optim_D"], state["optimizers"]["optim_D"])
        self.noise.set_state(tensors["rng"]["noise"])
        torch.set_rng_state(tensors["rng"]["torch"])
        self.py_rng.setstate(_tuple_state(state["python_rng"]))
        for key in ("step", "epoch", "batch_in_epoch", "images_seen", "bad_steps", "rollbacks", "lr_scale"):
            setattr(self, key, state[key])
        self._last_snapshot_step = self.step
        if self.dist.world_size > 1:  # other ranks draw their own noise streams
            self.noise.manual_seed(self.cfg.seed * 1000 + self.dist.rank + 7919 * self.step)
            self.py_rng.seed(self.cfg.seed * 1000 + self.dist.rank + 7919 * self.step)

    def resume(self) -> Path | None:
        path = ckpt.newest_valid_checkpoint(self.run_dir, self.log)
        if path is None:
            self.log(f"no valid checkpoint in {self.run_dir / 'checkpoints'}; starting from scratch")
            return None
        self.load(path)
        self.log(f"resumed from {path} (step {self.step}, epoch {self.epoch})")
        return path


def chunk(preds: dict, k: int, n: int) -> dict:
    """The ``k``-th block of ``n`` samples of every prediction (the D batch stacks several sets)."""
    return {key: v[k * n:(k + 1) * n].float() for key, v in preds.items()}


def to_channels_last(module: torch.nn.Module) -> None:
    """channels_last for every 4-D weight (the 5-D kernel banks stay as they are)."""
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)


def hash_text(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def _label(name: str) -> str:
    """``epoch_0005`` -> ``epoch 5``; ``step_00001234`` -> ``step 1234``."""
    kind, _, number = name.partition("_")
    return f"{kind} {int(number)}" if number.isdigit() else name


def _jsonable(state):
    return [_jsonable(s) for s in state] if isinstance(state, tuple) else state


def _tuple_state(state):
    return tuple(_tuple_state(s) for s in state) if isinstance(state, list) else state


def peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
