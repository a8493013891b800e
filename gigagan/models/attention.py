"""Attention layers of GigaGAN: L2-distance self-attention and masked cross-attention.

Self-attention uses the negative squared L2 distance between queries and keys as its
logit, with the query and key projections tied into one weight. Kim et al. (2021)
show that dot-product self-attention is not Lipschitz while L2 attention with tied
projections is; GigaGAN uses it, together with equalized learning rate and a small
residual gain, to keep adversarial training stable when attention is added.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gigagan.models.layers import EqualLinear


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    batch, tokens, dim = x.shape
    return x.reshape(batch, tokens, heads, dim // heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    batch, heads, tokens, dim_head = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * dim_head)


def _to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # [B, C, H, W] -> [B, H*W, C]


def _to_map(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, height, width)


def l2_logits(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``-||q_i - k_j||^2 / sqrt(d)`` for every query/key pair (last two dims are tokens, features).

    Computed in float32 even under bf16 autocast: the expansion ``|q|^2 + |k|^2 - 2 q.k``
    cancels for nearby tokens and would lose its precision in bf16.
    """
    dtype = q.dtype
    if dtype in (torch.float16, torch.bfloat16):
        q, k = q.float(), k.float()
    sq = q.square().sum(-1, keepdim=True) + k.square().sum(-1).unsqueeze(-2) - 2.0 * q @ k.transpose(-1, -2)
    return (-sq.clamp_min(0.0) / math.sqrt(q.shape[-1])).to(dtype)


class L2SelfAttention(nn.Module):
    """Self-attention over the pixels of a feature map with L2-distance logits.

    ``to_qk`` is the single, tied query/key projection. When ``w_dim`` is given the
    input tokens are first scaled by a style from ``w`` (GigaGAN feeds ``w`` to every
    layer). The output is added back with a small ``residual_gain``.
    """

    def __init__(self, dim: int, heads: int = 4, w_dim: int | None = None, residual_gain: float = 0.1):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} must be divisible by heads={heads}")
        self.heads, self.residual_gain = heads, residual_gain
        self.style = EqualLinear(w_dim, dim, bias_init=1.0) if w_dim else None
        self.to_qk = EqualLinear(dim, dim, bias=False)
        self.to_v = EqualLinear(dim, dim, bias=False)
        self.to_out = EqualLinear(dim, dim)

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Attention logits ``[B, heads, N, N]`` of a token sequence (after any style scaling)."""
        qk = _split_heads(self.to_qk(tokens), self.heads)
        return l2_logits(qk, qk)

    def forward(self, x: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        tokens = _to_tokens(x)
        if self.style is not None:
            tokens = tokens * self.style(w).unsqueeze(1)
        attn = torch.softmax(self.logits(tokens), dim=-1)
        out = self.to_out(_merge_heads(attn @ _split_heads(self.to_v(tokens), self.heads)))
        return x + self.residual_gain * _to_map(out, height, width)


class CrossAttention(nn.Module):
    """Image features (queries) attend to text tokens ``t_local`` (keys and values).

    ``text_mask`` is ``[B, L]`` with True for real tokens; padding tokens get no weight.
    """

    def __init__(self, dim: int, text_dim: int, heads: int = 4, residual_gain: float = 0.1):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} must be divisible by heads={heads}")
        self.heads, self.residual_gain = heads, residual_gain
        self.to_q = EqualLinear(dim, dim, bias=False)
        self.to_k = EqualLinear(text_dim, dim, bias=False)
        self.to_v = EqualLinear(text_dim, dim, bias=False)
        self.to_out = EqualLinear(dim, dim)

    def forward(self, x: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        q = _split_heads(self.to_q(_to_tokens(x)), self.heads)
        k = _split_heads(self.to_k(text), self.heads)
        v = _split_heads(self.to_v(text), self.heads)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if text_mask is not None:
            logits = logits.masked_fill(~text_mask.bool()[:, None, None, :], float("-inf"))
        out = self.to_out(_merge_heads(torch.softmax(logits, dim=-1) @ v))
        return x + self.residual_gain * _to_map(out, height, width)
