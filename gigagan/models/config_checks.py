"""Validation of model configuration values, with errors that name the field and the fix."""

from __future__ import annotations

import math


def check_power_of_two(name: str, value, minimum: int = 8, maximum: int = 1024) -> int:
    allowed = [2 ** k for k in range(int(math.log2(minimum)), int(math.log2(maximum)) + 1)]
    if not isinstance(value, int) or value not in allowed:
        raise ValueError(f"{name} must be a power of two between {minimum} and {maximum} "
                         f"(allowed: {', '.join(map(str, allowed))}); got {value!r}")
    return value


def check_positive(name: str, value) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer (allowed: 1, 2, 3, ...); got {value!r}")
    return value


def check_pyramid_levels(resolution: int, levels) -> int:
    most = int(math.log2(resolution)) - 1  # down to 4x4
    if not isinstance(levels, int) or not 1 <= levels <= most:
        raise ValueError(f"pyramid_levels must be between 1 and {most} for resolution {resolution} "
                         f"(the coarsest level is 4x4); got {levels!r}")
    return levels


def check_attn_resolutions(resolution: int, values) -> list[int]:
    allowed = [2 ** k for k in range(2, int(math.log2(resolution)) + 1)]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"attn_resolutions must be chosen from {allowed} for resolution {resolution}; got {bad}")
    return list(values)


def check_text_width(expected: int, got: int, where: str = "text encoder") -> None:
    if expected != got:
        raise ValueError(
            f"text_embed_dim mismatch: the model expects text features of width {expected} but the "
            f"{where} gives {got}. Set text_embed_dim={got} in the model config (or use the text "
            "encoder the model was trained with).")


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature width at one resolution: ``min(channel_base // resolution, channel_max)``."""
    return max(1, min(channel_base // resolution, channel_max))
