"""The multi-scale input, multi-scale output (MS-I/O) discriminator of GigaGAN.

Pyramid level ``x_i`` (resolution ``R / 2^i``) enters the shared feature extractor at
the depth of that resolution and is judged after every later block ``j > i``, giving
``L (L + 1) / 2`` predictions for ``L`` levels. Each prediction is
``D_ij = psi_j(phi_{i->j}(x_i), t_D) + conv1x1_j(phi_{i->j}(x_i))`` (Eq. 7): a
text-modulated projection head plus an unconditional term. The last block reduces
the coarsest features to one vector (output "scale" 1x1).
"""

from __future__ import annotations

import math

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from gigagan.models.attention import L2SelfAttention
from gigagan.models.config_checks import (channels_at, check_attn_resolutions, check_positive,
                                          check_power_of_two, check_pyramid_levels, check_text_width)
from gigagan.models.generator import attention_heads
from gigagan.models.layers import AdaptiveConv2d, EqualConv2d, EqualLinear, downsample, lrelu
from gigagan.models.text_encoder import TextTransformer


class DownBlock(nn.Module):
    """Residual ``conv -> [L2 self-attention] -> conv -> 2x downsample`` block."""

    def __init__(self, in_ch: int, out_ch: int, attention: bool, heads: int, residual_gain: float):
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3)
        self.attn = L2SelfAttention(in_ch, attention_heads(in_ch, heads), None, residual_gain) if attention else None
        self.conv1 = EqualConv2d(in_ch, out_ch, 3)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x):
        h = lrelu(self.conv0(x))
        if self.attn is not None:
            h = self.attn(h)
        h = downsample(lrelu(self.conv1(h)))
        return (h + downsample(self.skip(x))) / math.sqrt(2.0)


class GlobalBlock(nn.Module):
    """The last block: features at the coarsest level -> one vector (a 1x1 map)."""

    def __init__(self, in_ch: int, out_ch: int, resolution: int):
        super().__init__()
        self.conv = EqualConv2d(in_ch, in_ch, 3)
        self.fc = EqualLinear(in_ch * resolution * resolution, out_ch)

    def forward(self, x):
        h = lrelu(self.conv(x)).flatten(1)
        return lrelu(self.fc(h))[:, :, None, None]


class ProjectionHead(nn.Module):
    """``psi_j(h, t_D) + conv1x1(h)``: modulated 1x1 convs, a projection on ``t_D``, an unconditional term."""

    def __init__(self, channels: int, text_dim: int, layers: int = 2):
        super().__init__()
        self.convs = nn.ModuleList(AdaptiveConv2d(channels, channels, 1, text_dim) for _ in range(layers))
        self.features = EqualConv2d(channels, channels, 1)
        self.project = EqualLinear(text_dim, channels)
        self.unconditional = EqualConv2d(channels, 1, 1)

    def forward(self, h: torch.Tensor, t_d: torch.Tensor) -> torch.Tensor:
        x = h
        for conv in self.convs:
            x = lrelu(conv(x, t_d))
        projection = self.project(t_d)[:, :, None, None]
        conditional = (self.features(x) * projection).sum(1, keepdim=True) / math.sqrt(h.shape[1])
        return conditional + self.unconditional(h)


class GigaGANDiscriminator(ModelMixin, ConfigMixin):
    """MS-I/O discriminator: ``D(pyramid, text) -> {(i, j): logits [B, 1, h_j, w_j]}``."""

    config_name = "config.json"

    @register_to_config
    def __init__(self, resolution: int = 32, text_embed_dim: int = 64, text_dim: int = 128,
                 text_layers: int = 1, text_heads: int = 4, channel_base: int = 4096,
                 channel_max: int = 256, attn_resolutions: tuple = (8,), attn_heads: int = 4,
                 pyramid_levels: int = 4, head_layers: int = 2, residual_gain: float = 0.1):
        super().__init__()
        check_power_of_two("resolution", resolution)
        for name, value in [("text_embed_dim", text_embed_dim), ("text_dim", text_dim),
                            ("attn_heads", attn_heads), ("head_layers", head_layers)]:
            check_positive(name, value)
        check_pyramid_levels(resolution, pyramid_levels)
        check_attn_resolutions(resolution, attn_resolutions)
        self.levels = pyramid_levels
        res = [resolution // 2 ** k for k in range(pyramid_levels)]
        chans = [channels_at(r, channel_base, channel_max) for r in res]
        out_chans = chans[1:] + [chans[-1]]
        self.text_encoder_layers = TextTransformer(text_embed_dim, text_dim, text_layers, text_heads)
        self.text_global = EqualLinear(text_dim, text_dim)
        self.from_rgb = nn.ModuleList(EqualConv2d(3, c, 1) for c in chans)
        blocks = [DownBlock(chans[k], out_chans[k], res[k] in attn_resolutions, attn_heads, residual_gain)
                  for k in range(pyramid_levels - 1)]
        blocks.append(GlobalBlock(chans[-1], out_chans[-1], res[-1]))
        self.blocks = nn.ModuleList(blocks)
        self.heads = nn.ModuleList(ProjectionHead(c, text_dim, head_layers) for c in out_chans)

    def encode_text(self, text_embeds: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """The global text descriptor ``t_D``."""
        check_text_width(self.config.text_embed_dim, text_embeds.shape[-1])
        _, t_global = self.text_encoder_layers(text_embeds, text_mask)
        return lrelu(self.text_global(t_global))

    def forward(self, images: list[torch.Tensor] | torch.Tensor, text_embeds: torch.Tensor,
                text_mask: torch.Tensor) -> dict[tuple[int, int], torch.Tensor]:
        if isinstance(images, torch.Tensor):
            raise ValueError("the discriminator takes an image pyramid (a list, finest first); "
                             "build one from real images with gigagan.models.layers.image_pyramid")
        if len(images) != self.levels:
            raise ValueError(f"expected a pyramid of pyramid_levels={self.levels} images, got {len(images)}")
        t_d = self.encode_text(text_embeds, text_mask)
        predictions = {}
        for i, image in enumerate(images):
            h = lrelu(self.from_rgb[i](image))
            for j in range(i + 1, self.levels + 1):
                h = self.blocks[j - 1](h)
                predictions[(i, j)] = self.heads[j - 1](h, t_d)
        return predictions
