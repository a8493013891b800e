"""Data for GigaGAN: procedural scenes, FLUX.1-schnell photos, folder loading.

* `gigagan.data.procedural`: captioned procedural scenes (numpy + PIL, CPU).
* `gigagan.data.flux`: German Shepherd photos from FLUX.1-schnell (GPU).
* `gigagan.data.folder`: the on-disk format (images + ``metadata.jsonl``).
* `gigagan.data.dataset`: `CaptionedImageDataset`, a folder as PyTorch tensors.
* `gigagan.data.cli`: ``gigagan data procedural|flux|check|sheet``.

Submodules load lazily, so ``import gigagan.data`` does not import torch.
"""

from importlib import import_module

_LAZY = {
    "CaptionedImageDataset": "gigagan.data.dataset",
    "DataError": "gigagan.data.folder",
    "write_folder": "gigagan.data.procedural",
    "make_sample": "gigagan.data.procedural",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gigagan.data' has no attribute {name!r}")
