"""Building blocks: equalized-learning-rate layers and the sample-adaptive convolution.

Equalized learning rate (Karras et al., 2018) stores weights drawn from N(0, 1) and
multiplies them by ``1 / sqrt(fan_in)`` at run time, so every layer learns at the same
speed under Adam. ``AdaptiveConv2d`` is GigaGAN's sample-adaptive kernel selection
(Eq. 1 of Kang et al., 2023) followed by StyleGAN2 modulation and demodulation,
computed for the whole batch as one grouped convolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (slope 0.2) with StyleGAN's gain of sqrt(2), which keeps activations at unit scale."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate.

    ``lr_mul`` slows the layer down (the mapping network uses 0.01); ``bias_init``
    lets style affines start at 1 so that modulation starts as the identity.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.weight_gain, bias)


class EqualConv2d(nn.Module):
    """2-D convolution with equalized learning rate ("same" padding by default)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, padding: int | None = None, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.weight_gain, self.bias, self.stride, self.padding)


class AdaptiveConv2d(nn.Module):
    """Sample-adaptive kernel selection with StyleGAN2 modulation (GigaGAN Eq. 1-2).

    A bank of ``num_kernels`` kernels ``K_i`` is mixed per sample with weights
    ``softmax(W_filter^T w + b_filter)``; the mixed kernel is modulated by the style
    ``W_mod^T w + b_mod`` on its input channels and, optionally, demodulated so each
    output channel has unit expected scale. All samples run as one grouped convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 num_kernels: int = 1, demodulate: bool = True, bias: bool = True):
        super().__init__()
        if num_kernels < 1:
            raise ValueError(f"num_kernels must be a positive integer (got {num_kernels}); use 1 for a plain modulated convolution")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.num_kernels, self.demodulate = kernel_size, num_kernels, demodulate
        self.kernels = nn.Parameter(torch.randn(num_kernels, out_channels, in_channels, kernel_size, kernel_size))
        self.selector = EqualLinear(w_dim, num_kernels) if num_kernels > 1 else None
        self.modulation = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)

    def selection_weights(self, w: torch.Tensor) -> torch.Tensor:
        """Per-sample softmax weights over the kernel bank, shape ``[batch, num_kernels]``."""
        if self.selector is None:
            return w.new_ones(w.shape[0], 1)
        return torch.softmax(self.selector(w), dim=-1)

    def sample_kernels(self, w: torch.Tensor) -> torch.Tensor:
        """The modulated (and demodulated) kernel of every sample, ``[batch, out, in, k, k]``."""
        weights = self.selection_weights(w).to(self.kernels.dtype)
        kernel = torch.einsum("bn,noikl->boikl", weights, self.kernels) * self.weight_gain
        style = self.modulation(w).to(kernel.dtype)
        kernel = kernel * style[:, None, :, None, None]
        if self.demodulate:
            kernel = kernel * torch.rsqrt(kernel.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        return kernel

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        kernel = self.sample_kernels(w).to(x.dtype)
        x = x.reshape(1, batch * self.in_channels, height, width)
        kernel = kernel.reshape(batch * self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        out = F.conv2d(x, kernel, padding=self.kernel_size // 2, groups=batch)
        out = out.reshape(batch, self.out_channels, height, width)
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)[None, :, None, None]
        return out


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve the resolution with a 2x2 box filter (the image pyramid's low-pass)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Double the resolution with bilinear interpolation."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def image_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``[image, image/2, image/4, ...]`` with ``levels`` entries, finest first."""
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(downsample(pyramid[-1]))
    return pyramid
