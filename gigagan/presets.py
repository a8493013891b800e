"""Named configurations: the one source of truth for model sizes and training settings.

- ``tiny``: CPU, CI and the book's default build; 32 px procedural scenes, minutes on 2 cores.
  It reads prompts with the scene CLIP (`gigagan.models.scene_clip`), a tiny CLIP pretrained
  offline on procedural scenes, as the paper reads them with a pretrained CLIP.
- ``shepherd``: one GPU, mirrors the original project; 128 px, 100 epochs, snapshots every 5.
- ``paper64``: documentation and speed checks; the paper's 64 px base generator where the
  sources give its sizes (z 128, 4 mapping layers, CLIP ViT-L/14 text features, 5 pyramid
  levels). The channel widths are our choice, since the sources do not give them.
"""

from __future__ import annotations

import copy

TINY_TEXT = {"tiny": {"hidden_size": 64, "layers": 2, "heads": 4, "max_length": 24}}
# The tiny preset's text encoder: a tiny CLIP pretrained on procedural scenes (gigagan.models.scene_clip),
# the offline stand-in for the paper's pretrained CLIP; a random tower (TINY_TEXT) learns far slower.
SCENE_CLIP = {"scene_clip": {"width": 64, "layers": 2, "heads": 4, "max_length": 24}}
CLIP_L14 = {"pretrained": "openai/clip-vit-large-patch14"}

TRAINING_DEFAULTS = {
    "batch_size": 32,
    "g_lr": 0.0025,
    "d_lr": 0.0025,
    "betas": (0.0, 0.99),          # the paper's AdamW betas (reported by secondary sources)
    "weight_decay": 0.0,
    "attn_weight_decay": 0.01,     # weight decay on attention layers
    "r1_gamma": 0.2048,
    "r1_interval": 16,             # lazy R1
    "matching_weight": 1.0,
    "clip_weight": 0.0,            # CLIP contrastive loss: needs a pretrained CLIP locally
    "vision_weight": 0.0,          # vision-aided loss: needs a pretrained CLIP locally
    "ema_halflife_kimg": 10.0,
    "ema_rampup": 0.05,
    "grad_clip": 10.0,
    "epochs": 100,
    "snapshot_every": 5,
    "max_bad_steps": 20,           # consecutive non-finite steps before a rollback
    "max_rollbacks": 3,
    "channels_last": True,
    "train_text_encoder": False,   # the offline text encoders stay frozen (like the paper's CLIP) unless set
}

PRESETS = {
    "tiny": {
        "description": "32 px, CPU-sized: trains on procedural scenes in minutes on 2 cores",
        "resolution": 32,
        "text_encoder": SCENE_CLIP,
        "generator": dict(resolution=32, z_dim=64, w_dim=128, text_embed_dim=64, text_dim=128,
                          text_layers=1, text_heads=4, text_max_length=24, text_hidden_layer=-1,
                          mapping_layers=2, channel_base=1024, channel_max=64, num_kernels=4,
                          attn_resolutions=(8, 16), attn_heads=4, pyramid_levels=4, residual_gain=0.1,
                          mapping_lr_mul=1.0),  # StyleGAN uses 0.01; 0.1 learned slower per CPU-minute (bench_tiny)
        "discriminator": dict(resolution=32, text_embed_dim=64, text_dim=128, text_layers=1, text_heads=4,
                              channel_base=1024, channel_max=32, attn_resolutions=(8,), attn_heads=4,
                              pyramid_levels=4, head_layers=2, residual_gain=0.1),
        # tuned for quality per CPU-minute (see the training chapter)
        "training": dict(TRAINING_DEFAULTS, batch_size=16, g_lr=0.003, d_lr=0.003, r1_gamma=0.1,
                         ema_halflife_kimg=1.0, epochs=20, snapshot_every=1),
    },
    "shepherd": {
        "description": "128 px, one GPU: the original project's German Shepherd run, done properly",
        "resolution": 128,
        "text_encoder": CLIP_L14,
        "generator": dict(resolution=128, z_dim=128, w_dim=512, text_embed_dim=768, text_dim=512,
                          text_layers=2, text_heads=8, text_max_length=77, text_hidden_layer=-2,
                          mapping_layers=4, channel_base=16384, channel_max=512, num_kernels=4,
                          attn_resolutions=(8, 16, 32), attn_heads=8, pyramid_levels=5, residual_gain=0.1,
                          mapping_lr_mul=0.01),
        "discriminator": dict(resolution=128, text_embed_dim=768, text_dim=512, text_layers=1, text_heads=8,
                              channel_base=16384, channel_max=512, attn_resolutions=(16, 32), attn_heads=8,
                              pyramid_levels=5, head_layers=2, residual_gain=0.1),
        "training": dict(TRAINING_DEFAULTS, batch_size=32, r1_gamma=0.2048, ema_halflife_kimg=10.0),
    },
    "paper64": {
        "description": "the paper's 64 px base model sizes where known (z 128, 4 mapping layers, "
                       "CLIP ViT-L/14, 5 levels); channel widths are ours",
        "resolution": 64,
        "text_encoder": CLIP_L14,
        "generator": dict(resolution=64, z_dim=128, w_dim=1024, text_embed_dim=768, text_dim=768,
                          text_layers=4, text_heads=12, text_max_length=77, text_hidden_layer=-2,
                          mapping_layers=4, channel_base=32768, channel_max=1024, num_kernels=8,
                          attn_resolutions=(8, 16, 32), attn_heads=16, pyramid_levels=5, residual_gain=0.1,
                          mapping_lr_mul=0.01),
        "discriminator": dict(resolution=64, text_embed_dim=768, text_dim=768, text_layers=1, text_heads=12,
                              channel_base=32768, channel_max=1024, attn_resolutions=(8, 16), attn_heads=16,
                              pyramid_levels=5, head_layers=4, residual_gain=0.1),
        "training": dict(TRAINING_DEFAULTS, batch_size=64),
    },
}

PAPER_PARAMS = {"paper64": {"generator": 652.5e6, "source": "Kang et al. 2023, Table 1 (Scale-up row)"}}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str, text_encoder: str | None = None) -> dict:
    """A deep copy of preset ``name``.

    ``text_encoder`` swaps the preset's text encoder, keeping its width (so model shapes and
    parameter counts stay as in the preset): ``"scene-clip"`` for the tiny CLIP pretrained on
    procedural scenes, ``"tiny"`` for a random (trainable) tower; any other string is a local
    path or hub id of a pretrained CLIP text encoder.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; allowed values: {', '.join(preset_names())}")
    preset = copy.deepcopy(PRESETS[name])
    if text_encoder is None:
        return preset
    width, length = preset["generator"]["text_embed_dim"], preset["generator"]["text_max_length"]
    heads = 4 if width <= 256 else width // 64
    if text_encoder == "tiny":
        preset["text_encoder"] = {"tiny": dict(TINY_TEXT["tiny"], hidden_size=width, heads=heads, max_length=length)}
        preset["generator"]["text_hidden_layer"] = -1
    elif text_encoder == "scene-clip":
        preset["text_encoder"] = {"scene_clip": dict(SCENE_CLIP["scene_clip"], width=width, heads=heads,
                                                     max_length=length)}
        preset["generator"]["text_hidden_layer"] = -1
    else:
        preset["text_encoder"] = {"pretrained": text_encoder}
    return preset


def parameter_counts(name: str) -> dict[str, int]:
    """Parameters of the preset's generator and discriminator (built on the meta device, no memory)."""
    import torch

    from gigagan.models import GigaGANDiscriminator, GigaGANGenerator

    preset = get_preset(name)
    with torch.device("meta"):
        g = GigaGANGenerator(**preset["generator"])
        d = GigaGANDiscriminator(**preset["discriminator"])
    return {"generator": sum(p.numel() for p in g.parameters()),
            "discriminator": sum(p.numel() for p in d.parameters())}
