"""gigagan: a from-scratch, text-conditioned GigaGAN in PyTorch.

The package behind *The GigaGAN Book*. Heavy submodules are imported lazily, so
``import gigagan`` is cheap and ``gigagan.GigaGANPipeline`` still works.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "GigaGANPipeline": "gigagan.pipeline",
    "GigaGANGenerator": "gigagan.models.generator",
    "GigaGANDiscriminator": "gigagan.models.discriminator",
    "get_preset": "gigagan.presets",
    "PRESETS": "gigagan.presets",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gigagan' has no attribute {name!r}")
