"""``GigaGANPipeline``: prompts in, images out, in one forward pass of the generator.

A diffusers ``DiffusionPipeline`` bundling the generator, the CLIP text encoder and its
tokenizer, so ``save_pretrained`` / ``from_pretrained`` work as for any diffusers
pipeline. Importing this module registers the class with diffusers, so after
``import gigagan.pipeline`` the generic ``diffusers.DiffusionPipeline.from_pretrained(dir)``
loads a saved GigaGAN pipeline too.
"""

from __future__ import annotations

from collections.abc import Sequence

import diffusers
import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from gigagan.models.config_checks import check_text_width
from gigagan.models.generator import GigaGANGenerator
from gigagan.models.text_encoder import encode_tokens, tokenize

OUTPUT_TYPES = ("pil", "np", "pt")


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``[B, 3, H, W]`` in ``[-1, 1]`` -> ``[B, H, W, 3]`` uint8."""
    images = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return images.permute(0, 2, 3, 1).cpu().numpy()


class GigaGANPipeline(DiffusionPipeline):
    """Text-to-image with a GigaGAN generator.

    >>> pipe = GigaGANPipeline.from_preset("tiny")             # untrained, offline
    >>> images = pipe(["a red star on snow"], num_images_per_prompt=4, truncation_psi=0.7).images
    """

    model_cpu_offload_seq = "text_encoder->generator_model"

    def __init__(self, generator_model: GigaGANGenerator, text_encoder, tokenizer):
        super().__init__()
        check_text_width(generator_model.config.text_embed_dim, text_encoder.config.hidden_size)
        self.register_modules(generator_model=generator_model, text_encoder=text_encoder, tokenizer=tokenizer)

    @classmethod
    def from_preset(cls, name: str, seed: int = 0, text_encoder: str | None = None) -> "GigaGANPipeline":
        """An untrained pipeline built from a preset (``tiny`` needs no download at all)."""
        from gigagan.presets import get_preset
        from gigagan.models.text_encoder import build_text_encoder

        preset = get_preset(name, text_encoder)
        encoder, tokenizer, _ = build_text_encoder(preset["text_encoder"], seed=seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator_model = GigaGANGenerator(**preset["generator"])
        return cls(generator_model=generator_model.eval(), text_encoder=encoder.eval(), tokenizer=tokenizer)

    @torch.no_grad()
    def encode_prompt(self, prompt: str | Sequence[str], device=None):
        """CLIP hidden states and the token mask for a list of prompts."""
        config = self.generator_model.config
        device = device or self.device
        ids, mask = tokenize(self.tokenizer, prompt, config.text_max_length, device)
        embeds = encode_tokens(self.text_encoder, ids, mask, config.text_hidden_layer)
        return embeds.to(self.generator_model.dtype), mask

    @torch.no_grad()
    def __call__(self, prompt: str | Sequence[str], num_images_per_prompt: int = 1, truncation_psi: float = 1.0,
                 generator: torch.Generator | list[torch.Generator] | None = None,
                 latents: torch.Tensor | None = None, output_type: str = "pil", return_dict: bool = True):
        """Generate ``num_images_per_prompt`` images for each prompt.

        ``generator`` is the torch random generator for the latents (diffusers convention);
        ``latents`` (``[batch, z_dim]``) overrides them. ``output_type`` is ``pil``, ``np``
        (float in [0, 1], ``[B, H, W, 3]``) or ``pt`` (float in [-1, 1], ``[B, 3, H, W]``).
        """
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}; got {output_type!r}")
        if num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt must be at least 1; got {num_images_per_prompt}")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("prompt is empty: pass at least one prompt")
        prompts = [p for p in prompts for _ in range(num_images_per_prompt)]
        device, g = self._execution_device, self.generator_model
        embeds, mask = self.encode_prompt(prompts, device)
        if latents is None:
            latents = randn_tensor((len(prompts), g.config.z_dim), generator=generator, device=device, dtype=g.dtype)
        elif latents.shape != (len(prompts), g.config.z_dim):
            raise ValueError(f"latents must have shape {(len(prompts), g.config.z_dim)}; got {tuple(latents.shape)}")
        images = g(latents.to(device, g.dtype), embeds, mask, truncation_psi=truncation_psi)[0]
        self.maybe_free_model_hooks()
        if output_type == "pt":
            out = images.clamp(-1, 1)
        elif output_type == "np":
            out = to_uint8(images).astype(np.float32) / 255.0
        else:
            out = [Image.fromarray(a) for a in to_uint8(images)]
        return ImagePipelineOutput(images=out) if return_dict else (out,)


# Let the generic loader find the class by the name in model_index.json.
if not hasattr(diffusers, GigaGANPipeline.__name__):
    setattr(diffusers, GigaGANPipeline.__name__, GigaGANPipeline)
