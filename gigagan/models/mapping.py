"""The style mapping network ``M(z, t_global) -> w`` with a tracked average ``w_avg``."""

from __future__ import annotations

import torch
from torch import nn

from gigagan.models.layers import EqualLinear, lrelu


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """StyleGAN2-style MLP (equalized lr, ``lr_mul=0.01``) on ``[z, embed(t_global)]``.

    ``w_avg`` is an exponential moving average of ``w`` over training, used by the
    truncation trick ``w_avg + psi * (w - w_avg)``.
    """

    def __init__(self, z_dim: int, text_dim: int, w_dim: int, num_layers: int = 4,
                 lr_mul: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.w_dim, self.w_avg_beta = z_dim, w_dim, w_avg_beta
        self.embed_text = EqualLinear(text_dim, w_dim)
        dims = [z_dim + w_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, t_global: torch.Tensor, truncation_psi: float = 1.0,
                update_w_avg: bool = False) -> torch.Tensor:
        x = torch.cat([normalize_2nd_moment(z), normalize_2nd_moment(self.embed_text(t_global))], dim=1)
        for layer in self.layers:
            x = lrelu(layer(x))
        if update_w_avg:
            self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation_psi != 1.0:
            x = self.w_avg.to(x.dtype).lerp(x, truncation_psi)
        return x
