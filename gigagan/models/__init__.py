"""Models: building blocks, text branch, generator and MS-I/O discriminator."""

from gigagan.models.attention import CrossAttention, L2SelfAttention
from gigagan.models.discriminator import GigaGANDiscriminator
from gigagan.models.generator import GigaGANGenerator
from gigagan.models.layers import AdaptiveConv2d, EqualConv2d, EqualLinear, image_pyramid
from gigagan.models.mapping import MappingNetwork
from gigagan.models.text_encoder import TextTransformer, build_text_encoder, offline_tokenizer

__all__ = ["AdaptiveConv2d", "CrossAttention", "EqualConv2d", "EqualLinear", "GigaGANDiscriminator",
           "GigaGANGenerator", "L2SelfAttention", "MappingNetwork", "TextTransformer",
           "build_text_encoder", "image_pyramid", "offline_tokenizer"]
