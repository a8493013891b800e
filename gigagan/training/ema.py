"""Exponential moving average of the generator, with StyleGAN2-ADA's half-life and ramp-up."""

from __future__ import annotations

import torch


def ema_beta(batch_size: int, images_seen: int, halflife_kimg: float, rampup: float | None) -> float:
    """Decay per step so the average has a half-life of ``halflife_kimg`` thousand images.

    With ``rampup`` the half-life is at most ``rampup * images_seen``, so early, random
    weights are forgotten quickly.
    """
    halflife = halflife_kimg * 1000.0
    if rampup:
        halflife = min(halflife, images_seen * rampup)
    return 0.5 ** (batch_size / max(halflife, 1e-8))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, beta: float) -> None:
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p.detach().to(p_ema.dtype), 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
