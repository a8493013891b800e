"""The GigaGAN generator: text branch ``T``, mapping ``M`` and a multi-scale synthesis network.

Each synthesis block is ``upsample -> adaptive conv x2 -> L2 self-attention -> cross-attention``
(attention at the configured resolutions) and emits RGB. RGB outputs are accumulated
StyleGAN2-style (``image = upsample(image) + to_rgb(features)``), and the last
``pyramid_levels`` of them form the image pyramid that the MS-I/O discriminator judges.
"""

from __future__ import annotations

import math

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from gigagan.models.attention import CrossAttention, L2SelfAttention
from gigagan.models.config_checks import (channels_at, check_attn_resolutions, check_positive,
                                          check_power_of_two, check_pyramid_levels, check_text_width)
from gigagan.models.layers import AdaptiveConv2d, lrelu, upsample
from gigagan.models.mapping import MappingNetwork
from gigagan.models.text_encoder import TextTransformer


def attention_heads(channels: int, heads: int) -> int:
    return heads if channels % heads == 0 else 1


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network; the first block starts from a learned constant."""

    def __init__(self, in_ch: int, out_ch: int, resolution: int, w_dim: int, text_dim: int,
                 num_kernels: int, attention: bool, heads: int, residual_gain: float):
        super().__init__()
        self.resolution = resolution
        self.const = nn.Parameter(torch.randn(out_ch, 4, 4)) if resolution == 4 else None
        first_in = out_ch if resolution == 4 else in_ch
        self.conv0 = AdaptiveConv2d(first_in, out_ch, 3, w_dim, num_kernels)
        self.conv1 = AdaptiveConv2d(out_ch, out_ch, 3, w_dim, num_kernels)
        h = attention_heads(out_ch, heads)
        self.self_attn = L2SelfAttention(out_ch, h, w_dim, residual_gain) if attention else None
        self.cross_attn = CrossAttention(out_ch, text_dim, h, residual_gain) if attention else None
        self.to_rgb = AdaptiveConv2d(out_ch, 3, 1, w_dim, num_kernels=1, demodulate=False)

    def forward(self, x, w, t_local, text_mask):
        if self.const is not None:
            x = self.const.unsqueeze(0).expand(w.shape[0], -1, -1, -1).to(w.dtype)
        else:
            x = upsample(x)
        x = lrelu(self.conv0(x, w))
        x = lrelu(self.conv1(x, w))
        if self.self_attn is not None:
            x = self.self_attn(x, w)
            x = self.cross_attn(x, t_local, text_mask)
        return x, self.to_rgb(x, w)


class GigaGANGenerator(ModelMixin, ConfigMixin):
    """Text-conditioned GigaGAN generator ``G(z, text) -> image pyramid``.

    ``text_embeds`` are the CLIP hidden states ``[B, L, text_embed_dim]`` and ``text_mask``
    marks real tokens. ``forward`` returns the pyramid finest first; ``[0]`` is the image,
    in ``[-1, 1]`` (approximately: no squashing is applied, as in StyleGAN2).
    """

    config_name = "config.json"

    @register_to_config
    def __init__(self, resolution: int = 32, z_dim: int = 64, w_dim: int = 128,
                 text_embed_dim: int = 64, text_dim: int = 128, text_layers: int = 1, text_heads: int = 4,
                 text_max_length: int = 24, text_hidden_layer: int = -1, mapping_layers: int = 2,
                 channel_base: int = 4096, channel_max: int = 256, num_kernels: int = 4,
                 attn_resolutions: tuple = (8, 16), attn_heads: int = 4, pyramid_levels: int = 4,
                 residual_gain: float = 0.1, mapping_lr_mul: float = 0.01):
        super().__init__()
        check_power_of_two("resolution", resolution)
        for name, value in [("z_dim", z_dim), ("w_dim", w_dim), ("text_embed_dim", text_embed_dim),
                            ("text_dim", text_dim), ("num_kernels", num_kernels), ("attn_heads", attn_heads),
                            ("mapping_layers", mapping_layers), ("text_max_length", text_max_length)]:
            check_positive(name, value)
        check_pyramid_levels(resolution, pyramid_levels)
        check_attn_resolutions(resolution, attn_resolutions)
        self.text_encoder_layers = TextTransformer(text_embed_dim, text_dim, text_layers, text_heads)
        self.mapping = MappingNetwork(z_dim, text_dim, w_dim, mapping_layers, lr_mul=mapping_lr_mul)
        resolutions = [2 ** k for k in range(2, int(math.log2(resolution)) + 1)]
        chans = [channels_at(r, channel_base, channel_max) for r in resolutions]
        self.blocks = nn.ModuleList(
            SynthesisBlock(chans[max(i - 1, 0)], chans[i], r, w_dim, text_dim, num_kernels,
                           r in attn_resolutions, attn_heads, residual_gain)
            for i, r in enumerate(resolutions))
        self.num_ws = len(self.blocks)

    # -- the three stages, usable on their own (interpolation, style mixing, the book) --
    def encode_text(self, text_embeds: torch.Tensor, text_mask: torch.Tensor):
        """``(t_local, t_global)`` from CLIP hidden states."""
        check_text_width(self.config.text_embed_dim, text_embeds.shape[-1])
        return self.text_encoder_layers(text_embeds, text_mask)

    def map(self, z: torch.Tensor, t_global: torch.Tensor, truncation_psi: float = 1.0,
            update_w_avg: bool = False) -> torch.Tensor:
        if z.shape[-1] != self.config.z_dim:
            raise ValueError(f"latents must have z_dim={self.config.z_dim} features; got shape {tuple(z.shape)}")
        return self.mapping(z, t_global, truncation_psi, update_w_avg)

    def synthesize(self, ws: torch.Tensor, t_local: torch.Tensor, text_mask: torch.Tensor) -> list[torch.Tensor]:
        """Image pyramid from per-block styles ``ws`` (``[B, w_dim]`` or ``[B, num_ws, w_dim]``)."""
        if ws.dim() == 2:
            ws = ws.unsqueeze(1).expand(-1, self.num_ws, -1)
        x = image = None
        outputs = []
        for i, block in enumerate(self.blocks):
            x, rgb = block(x, ws[:, i], t_local, text_mask)
            image = rgb if image is None else upsample(image) + rgb
            outputs.append(image)
        return outputs[::-1][: self.config.pyramid_levels]

    def forward(self, z: torch.Tensor, text_embeds: torch.Tensor, text_mask: torch.Tensor,
                truncation_psi: float = 1.0, mix_z: torch.Tensor | None = None, mix_cutoff: int | None = None,
                update_w_avg: bool = False) -> list[torch.Tensor]:
        """Generate the image pyramid (finest first).

        Style mixing: with ``mix_z`` the blocks from ``mix_cutoff`` on use ``M(mix_z, t_global)``.
        """
        t_local, t_global = self.encode_text(text_embeds, text_mask)
        w = self.map(z, t_global, truncation_psi, update_w_avg)
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if mix_z is not None:
            cutoff = self.num_ws // 2 if mix_cutoff is None else mix_cutoff
            ws[:, cutoff:] = self.map(mix_z, t_global, truncation_psi).unsqueeze(1)
        return self.synthesize(ws, t_local, text_mask)
