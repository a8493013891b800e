"""Generator, discriminator, presets and pipeline: shapes, gradients, round trips, errors."""

import json

import diffusers
import pytest
import torch

from gigagan import GigaGANPipeline
from gigagan.models import GigaGANDiscriminator, GigaGANGenerator, image_pyramid
from gigagan.presets import get_preset, parameter_counts, preset_names


def text_inputs(batch, length, width, real=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(batch, length, dtype=torch.bool)
    mask[:, :real] = True
    return torch.randn(batch, length, width, generator=g), mask


@pytest.fixture(scope="module")
def tiny_pipe():
    return GigaGANPipeline.from_preset("tiny", seed=0)


@pytest.mark.parametrize("name", ["tiny", "shepherd"])
def test_pyramid_and_discriminator_shapes(name):
    preset = get_preset(name)
    torch.manual_seed(0)
    g = GigaGANGenerator(**preset["generator"]).eval()
    d = GigaGANDiscriminator(**preset["discriminator"]).eval()
    cfg = g.config
    embeds, mask = text_inputs(2, cfg.text_max_length, cfg.text_embed_dim)
    with torch.no_grad():
        pyramid = g(torch.randn(2, cfg.z_dim), embeds, mask)
        levels = cfg.pyramid_levels
        assert [tuple(p.shape) for p in pyramid] == [(2, 3, cfg.resolution >> i, cfg.resolution >> i)
                                                      for i in range(levels)]
        preds = d(pyramid, embeds, mask)
    expected = {(i, j) for i in range(levels) for j in range(i + 1, levels + 1)}
    assert set(preds) == expected and len(preds) == levels * (levels + 1) // 2
    for (i, j), logits in preds.items():
        size = 1 if j == levels else cfg.resolution >> j
        assert logits.shape == (2, 1, size, size), (i, j)


def test_every_parameter_gets_a_gradient():
    preset = get_preset("tiny")
    torch.manual_seed(0)
    g, d = GigaGANGenerator(**preset["generator"]), GigaGANDiscriminator(**preset["discriminator"])
    embeds, mask = text_inputs(3, 24, 64)
    fake = g(torch.randn(3, 64), embeds, mask)
    real = image_pyramid(torch.randn(3, 3, 32, 32), d.levels)
    softplus = torch.nn.functional.softplus
    loss = (sum(softplus(p).mean() for p in d(fake, embeds, mask).values())
            + sum(softplus(-p).mean() for p in d(real, embeds, mask).values()))
    loss.backward()
    for model in (g, d):
        missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing, f"{type(model).__name__} parameters without gradient: {missing}"


def test_truncation_uses_tracked_w_avg():
    g = GigaGANGenerator(**get_preset("tiny")["generator"])
    embeds, mask = text_inputs(4, 24, 64)
    z = torch.randn(4, 64)
    _, t_global = g.encode_text(embeds, mask)
    assert torch.count_nonzero(g.mapping.w_avg) == 0
    w = g.map(z, t_global, update_w_avg=True)
    torch.testing.assert_close(g.mapping.w_avg, w.mean(0) * (1 - g.mapping.w_avg_beta))
    torch.testing.assert_close(g.map(z, t_global, truncation_psi=0.0), g.mapping.w_avg.expand(4, -1))
    half = g.map(z, t_global, truncation_psi=0.5)
    torch.testing.assert_close(half, g.mapping.w_avg + 0.5 * (g.map(z, t_global) - g.mapping.w_avg))


def test_style_mixing_changes_only_late_blocks():
    g = GigaGANGenerator(**get_preset("tiny")["generator"]).eval()
    embeds, mask = text_inputs(2, 24, 64)
    z, z2 = torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        plain = g(z, embeds, mask)
        mixed = g(z, embeds, mask, mix_z=z2, mix_cutoff=2)
    torch.testing.assert_close(mixed[-1], plain[-1])  # 4x4 level: block 0 only, unchanged
    assert not torch.allclose(mixed[0], plain[0])


@pytest.mark.parametrize("field,value,message", [
    ("resolution", 48, "resolution must be a power of two"),
    ("num_kernels", 0, "num_kernels must be a positive integer"),
    ("pyramid_levels", 9, "pyramid_levels must be between 1 and 4"),
    ("attn_resolutions", (12,), "attn_resolutions must be chosen from"),
])
def test_invalid_generator_config_names_the_field(field, value, message):
    kwargs = dict(get_preset("tiny")["generator"], **{field: value})
    with pytest.raises(ValueError, match=message):
        GigaGANGenerator(**kwargs)


def test_mismatched_text_width_is_a_clear_error(tiny_pipe):
    g = tiny_pipe.generator_model
    embeds, mask = text_inputs(1, 24, 32)
    with pytest.raises(ValueError, match="text_embed_dim mismatch.*width 64.*gives 32"):
        g(torch.randn(1, 64), embeds, mask)
    with pytest.raises(ValueError, match="text_embed_dim mismatch"):
        GigaGANPipeline(GigaGANGenerator(**dict(get_preset("tiny")["generator"], text_embed_dim=32)),
                        tiny_pipe.text_encoder, tiny_pipe.tokenizer)


def test_unknown_preset_lists_allowed_values():
    with pytest.raises(ValueError, match="unknown preset 'huge'; allowed values: paper64, shepherd, tiny"):
        get_preset("huge")


def test_text_encoder_swaps_keep_the_preset_width():
    assert "scene_clip" in get_preset("tiny")["text_encoder"]
    swapped = get_preset("shepherd", "scene-clip")
    assert swapped["text_encoder"]["scene_clip"]["width"] == swapped["generator"]["text_embed_dim"] == 768
    assert swapped["text_encoder"]["scene_clip"]["heads"] == 12 and swapped["generator"]["text_hidden_layer"] == -1
    assert get_preset("tiny", "tiny")["text_encoder"]["tiny"]["hidden_size"] == 64
    assert get_preset("tiny", "/models/clip")["text_encoder"] == {"pretrained": "/models/clip"}


def test_parameter_counts_of_presets():
    counts = {name: parameter_counts(name) for name in preset_names()}
    assert counts["tiny"]["generator"] < counts["shepherd"]["generator"] < counts["paper64"]["generator"]
    # paper64 is sized like the paper's 652.5M-parameter base generator (within 15%)
    assert abs(counts["paper64"]["generator"] / 652.5e6 - 1) < 0.15


def test_pipeline_seed_and_prompt_behaviour(tiny_pipe):
    def run(prompts, seed):
        return tiny_pipe(prompts, generator=torch.Generator().manual_seed(seed), output_type="pt").images

    a = run(["a red star on snow", "a blue circle in a park"], 0)
    assert a.shape == (2, 3, 32, 32)
    torch.testing.assert_close(run(["a red star on snow", "a blue circle in a park"], 0), a, rtol=0, atol=0)
    assert not torch.allclose(run(["a red star on snow", "a blue circle in a park"], 1), a)
    same_latent = run(["a green square on sand", "a blue circle in a park"], 0)
    assert not torch.allclose(same_latent[0], a[0])  # different prompt, same latent: different image
    torch.testing.assert_close(same_latent[1], a[1])


def test_pipeline_output_types(tiny_pipe):
    out = tiny_pipe("a red star", num_images_per_prompt=3, output_type="np").images
    assert out.shape == (3, 32, 32, 3) and out.min() >= 0 and out.max() <= 1
    pil = tiny_pipe("a red star", output_type="pil").images
    assert pil[0].size == (32, 32) and pil[0].mode == "RGB"
    with pytest.raises(ValueError, match="output_type must be one of"):
        tiny_pipe("a red star", output_type="jpeg")


def test_save_pretrained_round_trip(tiny_pipe, tmp_path):
    tiny_pipe.save_pretrained(tmp_path)
    gen_dir = tmp_path / "generator_model"
    assert (gen_dir / "config.json").exists() and list(gen_dir.glob("*.safetensors"))
    assert json.loads((tmp_path / "model_index.json").read_text())["_class_name"] == "GigaGANPipeline"
    loaded = GigaGANGenerator.from_pretrained(gen_dir).eval()
    embeds, mask = text_inputs(2, 24, 64)
    z = torch.randn(2, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, embeds, mask)[0], tiny_pipe.generator_model(z, embeds, mask)[0],
                                   rtol=0, atol=0)
    pipe = diffusers.DiffusionPipeline.from_pretrained(tmp_path)
    assert isinstance(pipe, GigaGANPipeline)
    def run(p):
        return p(["a red star on snow"], generator=torch.Generator().manual_seed(3), output_type="pt").images

    torch.testing.assert_close(run(pipe), run(tiny_pipe), rtol=0, atol=0)


def test_discriminator_save_load_round_trip(tmp_path):
    d = GigaGANDiscriminator(**get_preset("tiny")["discriminator"]).eval()
    d.save_pretrained(tmp_path)
    assert (tmp_path / "config.json").exists() and list(tmp_path.glob("*.safetensors"))
    loaded = GigaGANDiscriminator.from_pretrained(tmp_path).eval()
    embeds, mask = text_inputs(2, 24, 64)
    pyramid = image_pyramid(torch.randn(2, 3, 32, 32), 4)
    with torch.no_grad():
        a, b = d(pyramid, embeds, mask), loaded(pyramid, embeds, mask)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
