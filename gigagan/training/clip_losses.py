"""Losses that need a pretrained CLIP: the CLIP contrastive loss (Eq. 9) and a vision-aided
discriminator head on frozen CLIP image features (after Kumari et al., 2022).

Both are used only when a CLIP model is found locally; the trainer says so in its log.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_pixels(images: torch.Tensor, size: int) -> torch.Tensor:
    """``[-1, 1]`` images -> CLIP's input: resized to ``size`` and normalised."""
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False)
    x = (x + 1) / 2
    mean = torch.tensor(CLIP_MEAN, device=x.device)[None, :, None, None]
    std = torch.tensor(CLIP_STD, device=x.device)[None, :, None, None]
    return (x - mean) / std


def _features(output) -> torch.Tensor:
    return output if torch.is_tensor(output) else output.pooler_output


def clip_image_text_embeds(clip, tokenizer, images: torch.Tensor, captions, device):
    """Projected CLIP embeddings of images (with gradient to the images) and of captions."""
    pixels = clip_pixels(images, clip.config.vision_config.image_size)
    image_embeds = _features(clip.get_image_features(pixel_values=pixels))
    tokens = tokenizer(list(captions), padding=True, truncation=True,
                       max_length=clip.config.text_config.max_position_embeddings, return_tensors="pt").to(device)
    with torch.no_grad():
        text_embeds = _features(clip.get_text_features(**tokens))
    return image_embeds, text_embeds


class VisionAidedHead(nn.Module):
    """A projection discriminator on frozen CLIP image embeddings, conditioned on CLIP text embeddings."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(0.2))
        self.out = nn.Linear(dim, 1)
        self.project = nn.Linear(dim, dim, bias=False)

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> torch.Tensor:
        h = self.body(F.normalize(image_embeds, dim=-1))
        t = F.normalize(text_embeds, dim=-1)
        return self.out(h).squeeze(-1) + (h * self.project(t)).sum(-1)
