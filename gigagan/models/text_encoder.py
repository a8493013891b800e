"""The text branch: a CLIP text encoder (pretrained and frozen, or tiny and trainable)
followed by learned transformer layers ``T`` that give ``t_local`` and ``t_global``.

Pretrained weights are only ever loaded with ``from_pretrained`` from a local folder or
the Hugging Face cache (``openai/clip-vit-large-patch14`` is the paper's encoder). The
offline variant builds the same transformers classes from a small config with random
weights and a byte-level BPE tokenizer trained here, on our own word list, in
milliseconds: nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from gigagan.models.layers import EqualLinear

BOS, EOS = "<|startoftext|>", "<|endoftext|>"

# Words the offline tokenizer learns as whole tokens; anything else still tokenizes
# (byte-level BPE falls back to pieces), it just takes more tokens.
BASE_VOCABULARY = """
a an the of on in at with and by near under over above below beside behind front photo picture image
render drawing painting scene view close up small large big tiny huge little medium left right center
middle top bottom corner red orange yellow green blue purple pink white black brown gray grey cyan
magenta gold silver circle square triangle star diamond cross heart ring hexagon ellipse moon
pentagon arrow grass park snow city brick sand beach water sea lake sky night wood forest street
field mountain desert room floor garden road river sunset sunrise morning evening afternoon day
dusk dawn light dark bright soft golden hour rain fog cloudy sunny winter summer autumn spring
german shepherd dog puppy sitting standing running lying walking playing jumping looking camera
portrait realistic high quality detailed fur sharp focus natural lighting studio background
""".split()


def _bpe_merges(words: list[str]) -> list[tuple[str, str]]:
    """Byte-pair merges learned on ``words`` until each word is one token.

    Plain Python with ties broken alphabetically, so the result is the same in every
    process (the Rust trainer of ``tokenizers`` breaks ties by hash order).
    """
    corpus = [tuple(w[:-1]) + (w[-1] + "</w>",) for w in words]
    merges = []
    while True:
        counts: dict[tuple[str, str], int] = {}
        for symbols in corpus:
            for pair in zip(symbols, symbols[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            return merges
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        joined = best[0] + best[1]
        new_corpus = []
        for symbols in corpus:
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            new_corpus.append(tuple(out))
        corpus = new_corpus


def offline_tokenizer(extra_words: Iterable[str] = ()):
    """A CLIP tokenizer (transformers ``CLIPTokenizer``) built locally from a small word list.

    It has CLIP's normalisation, byte-level pre-tokenisation and special tokens, every
    listed word is a single token, and any other text still tokenizes (into pieces). It is
    deterministic: the same word list gives the same ids in every process.
    """
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    words = sorted(set(BASE_VOCABULARY) | {w.lower() for w in extra_words if w.isascii() and w.isalpha()})
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {BOS: 0, EOS: 1}
    for token in alphabet + [c + "</w>" for c in alphabet]:
        vocab.setdefault(token, len(vocab))
    merges = _bpe_merges(words)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges)


def tiny_clip_config(vocab_size: int, hidden_size: int = 64, layers: int = 2, heads: int = 4,
                     max_length: int = 32):
    """A small ``CLIPTextConfig`` for the offline, trainable text tower."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=hidden_size * 4,
        num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=max_length,
        bos_token_id=0, eos_token_id=1, pad_token_id=1)


def build_text_encoder(spec: dict, seed: int = 0, load_weights: bool = True):
    """Return ``(text_encoder, tokenizer, from_hub)`` from a preset's ``text_encoder`` entry.

    * ``{"pretrained": "openai/clip-vit-large-patch14"}`` loads with ``from_pretrained`` from a
      local path or the Hugging Face cache (never the network unless the caller allows it)
      and freezes the model; ``from_hub`` is True (checkpoints do not copy its weights).
    * ``{"scene_clip": {...}}`` is the text tower of the tiny CLIP pretrained on procedural
      scenes (`gigagan.models.scene_clip`), trained once and cached; frozen.
    * ``{"tiny": {...}}`` builds a random, trainable tower offline.

    For the last two, ``from_hub`` is False: the trainer stores their weights in every
    checkpoint, so a run folder is complete on its own. ``load_weights=False`` builds the
    scene CLIP's architecture without training or loading it (for weights read from a checkpoint).
    """
    from transformers import CLIPTextModel, CLIPTokenizer

    if "pretrained" in spec:
        name = spec["pretrained"]
        local_only = spec.get("local_files_only", True)
        try:
            tokenizer = CLIPTokenizer.from_pretrained(name, local_files_only=local_only)
            model = CLIPTextModel.from_pretrained(name, local_files_only=local_only, use_safetensors=True)
        except (OSError, ValueError) as err:
            raise FileNotFoundError(
                f"pretrained CLIP text encoder {name!r} was not found locally ({err.__class__.__name__}). "
                f"Download it once with `hf download {name}` (or pass a local folder), "
                "or use the offline text encoders (--text-encoder scene-clip or tiny)."
            ) from err
        model.requires_grad_(False).eval()
        return model, tokenizer, True
    if "scene_clip" in spec:
        from gigagan.models import scene_clip

        options = dict(spec["scene_clip"])
        if not load_weights:
            tokenizer = offline_tokenizer()
            config = scene_clip.clip_config(len(tokenizer), **{k: options.get(k, v) for k, v in scene_clip.DEFAULTS.items()
                                                               if k in scene_clip.CONFIG_KEYS})
            return CLIPTextModel(config.text_config).eval().requires_grad_(False), tokenizer, False
        model, tokenizer = scene_clip.load_text_encoder(scene_clip.ensure_scene_clip(**options))
        return model, tokenizer, False
    if "tiny" in spec:
        options = dict(spec["tiny"])
        tokenizer = offline_tokenizer(options.pop("extra_words", ()))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = CLIPTextModel(tiny_clip_config(len(tokenizer), **options))
        return model, tokenizer, False
    raise ValueError(f"text_encoder must have a 'pretrained', 'scene_clip' or 'tiny' entry (got keys {sorted(spec)})")


def tokenize(tokenizer, prompts: Sequence[str], max_length: int, device=None):
    """Token ids and attention mask (True for real tokens), padded to ``max_length``."""
    if isinstance(prompts, str):
        prompts = [prompts]
    batch = tokenizer(list(prompts), padding="max_length", truncation=True, max_length=max_length,
                      return_tensors="pt")
    return batch["input_ids"].to(device), batch["attention_mask"].to(device).bool()


def encode_tokens(text_encoder, input_ids: torch.Tensor, mask: torch.Tensor, hidden_layer: int = -1):
    """CLIP hidden states of the chosen layer (``-1`` last, ``-2`` penultimate), ``[B, L, D]``."""
    out = text_encoder(input_ids=input_ids, attention_mask=mask.long(), output_hidden_states=hidden_layer != -1)
    return out.last_hidden_state if hidden_layer == -1 else out.hidden_states[hidden_layer]


class TextTransformer(nn.Module):
    """Learned attention layers ``T`` on top of CLIP: ``t_local`` per token, ``t_global`` at EOT.

    The end-of-text token is the last real token of each prompt (CLIP pads after it).
    """

    def __init__(self, in_dim: int, out_dim: int, layers: int = 1, heads: int = 4):
        super().__init__()
        if out_dim % heads:
            raise ValueError(f"text_dim={out_dim} must be divisible by text_heads={heads}")
        self.proj_in = EqualLinear(in_dim, out_dim)
        layer = nn.TransformerEncoderLayer(out_dim, heads, dim_feedforward=2 * out_dim, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False) if layers else None
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, embeds: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.proj_in(embeds)
        if self.layers is not None:
            x = self.layers(x, src_key_padding_mask=~mask.bool())
        x = self.norm(x)
        eot = mask.long().sum(1).clamp_min(1) - 1
        return x, x[torch.arange(x.shape[0], device=x.device), eot]
