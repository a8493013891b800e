"""FLUX.1-schnell data generation, tested offline.

A tiny, randomly initialised `FluxPipeline` (built from configs, tokenizers
built locally) is planted in a temporary Hugging Face cache under the real repo
id, and the unchanged production path, the ``gigagan data flux`` command, loads
it with ``FluxPipeline.from_pretrained("black-forest-labs/FLUX.1-schnell")``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gigagan.data import flux

LETTERS = [chr(c) for c in range(97, 123)] + list("0123456789,.-'")


def _clip_tokenizer():
    """A character-level BPE CLIP tokenizer, built with the tokenizers library."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import CLIPTokenizer

    specials = ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(specials + LETTERS + [c + "</w>" for c in LETTERS])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|endoftext|>", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    return CLIPTokenizer(
        tokenizer_object=tok,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=77,
    )


def _t5_tokenizer():
    """A character-level Unigram T5 tokenizer (sentencepiece-style), built locally."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(c, -3.0) for c in LETTERS] + [("\u2581" + c, -2.5) for c in LETTERS]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    return T5TokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0, model_max_length=512
    )


def _save_tiny_flux(path: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    clip, t5 = _clip_tokenizer(), _t5_tokenizer()
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=AutoencoderKL(
            sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,), layers_per_block=1,
            latent_channels=1, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
            shift_factor=0.0609, scaling_factor=1.5035,
        ),
        text_encoder=CLIPTextModel(
            CLIPTextConfig(
                bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
                num_attention_heads=4, num_hidden_layers=2, vocab_size=len(clip), projection_dim=32,
                max_position_embeddings=77,
            )
        ),
        tokenizer=clip,
        text_encoder_2=T5EncoderModel(
            T5Config(vocab_size=len(t5), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                     pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
        ),
        tokenizer_2=t5,
        transformer=FluxTransformer2DModel(
            patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
            num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8],
        ),
    )
    pipe.save_pretrained(path)


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory):
    """A Hugging Face home whose hub cache holds a tiny FLUX.1-schnell snapshot."""
    home = tmp_path_factory.mktemp("hf_home")
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = home / "hub" / ("models--" + flux.MODEL_ID.replace("/", "--"))
    _save_tiny_flux(repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return home


def _run_cli(hf_home: Path, out: Path, n: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HOME=str(hf_home), HF_HUB_CACHE=str(hf_home / "hub"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    command = [sys.executable, "-m", "gigagan", "data", "flux", "--n", str(n), "--out", str(out), "--size", "64",
               "--gen-size", "64", "--steps", "2", "--device", "cpu", "--dtype", "float32", "--batch-size", "2"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_flux_cli_end_to_end_offline_and_resumes(hf_home, tmp_path):
    out = tmp_path / "shepherds"
    first = _run_cli(hf_home, out, n=2)
    assert first.returncode == 0, first.stderr[-3000:]
    lines = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert [l["file_name"] for l in lines] == ["00000.png", "00001.png"]
    for i, line in enumerate(lines):
        assert line["text"] == flux.prompt(0, i)[0] and "German Shepherd" in line["text"]
        assert line["seed"] == flux.image_seed(0, i)
        assert line["model"] == flux.MODEL_ID and line["steps"] == 2
        with Image.open(out / line["file_name"]) as image:
            assert image.size == (64, 64) and image.mode == "RGB"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.png")}

    second = _run_cli(hf_home, out, n=3)
    assert second.returncode == 0, second.stderr[-3000:]
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.png")}
    assert set(after) == {"00000.png", "00001.png", "00002.png"}
    assert all(after[name] == before[name] for name in before), "finished images were rewritten"
    lines = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert [l["file_name"] for l in lines] == ["00000.png", "00001.png", "00002.png"]
    assert not list(out.glob(".*.tmp"))


def test_prompts_are_deterministic_varied_and_short():
    prompts = [flux.prompt(0, i) for i in range(300)]
    assert prompts == [flux.prompt(0, i) for i in range(300)]
    texts = [t for t, _ in prompts]
    assert all("German Shepherd" in t for t in texts)
    assert len(set(texts)) > 250
    assert {p["scene"] for _, p in prompts} == set(flux.SCENES)
    assert {p["pose"] for _, p in prompts} == set(flux.POSES)
    assert {p["lighting"] for _, p in prompts} == set(flux.LIGHTING)
    assert max(len(t.split()) for t in texts) < 60  # far below 256 T5 tokens
    for text, parts in prompts[:50]:
        assert flux.SCENES[parts["scene"]] in text and flux.POSES[parts["pose"]] in text


def test_one_seed_per_image():
    seeds = [flux.image_seed(0, i) for i in range(5000)]
    assert len(set(seeds)) == 5000
    assert flux.image_seed(1, 0) != flux.image_seed(0, 0)


def test_nothing_to_do_does_not_load_the_model(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the pipeline was loaded")

    monkeypatch.setattr(flux, "load_pipeline", fail)
    assert flux.generate(tmp_path / "empty", n=0) == tmp_path / "empty"


def test_bad_settings_are_user_errors(tmp_path):
    with pytest.raises(ValueError, match="at most 256"):
        flux.generate(tmp_path, n=1, max_sequence_length=512)
    with pytest.raises(ValueError, match="needs --device cuda"):
        flux.load_pipeline(device="cpu", offload="model")
