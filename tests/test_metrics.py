"""Metrics: the probe is a valid judge, FD-probe behaves like a distance, FID refuses without weights."""

import numpy as np
import pytest
import torch

from gigagan import metrics
from gigagan.data import procedural


@pytest.fixture(scope="module")
def probe():
    return metrics.train_probe(n_images=3000, epochs=3)


def real_batch(seed, n, split="train"):
    images, _, attrs = procedural.make_batch(seed, range(n), 32, split)
    return metrics._to_tensor(images), attrs


def test_probe_is_accurate_on_real_scenes_and_chance_on_noise(probe):
    images, attrs = real_batch(777, 400)  # a seed the probe never saw
    acc = metrics.attribute_accuracy(probe, images, attrs)
    assert acc["color"] > 0.9 and acc["background"] > 0.9, acc
    held, held_attrs = real_batch(778, 200, "heldout")
    assert metrics.attribute_accuracy(probe, held, held_attrs)["color"] > 0.85
    noise = torch.rand(400, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noise_acc = metrics.attribute_accuracy(probe, noise, attrs)
    for key, classes in metrics.HEADS.items():
        assert noise_acc[key] < 1 / len(classes) + 0.12, (key, noise_acc[key])


def test_frechet_distance_against_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3)) * 2 + 1  # mean shift 1 per dim, std 2
    # closed form for diagonal covariances: |mu|^2 + sum (s_a - s_b)^2 = 3 + 3 * (1 - 2)^2
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, rel=0.1)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_fd_probe_small_for_same_distribution_large_for_shifted(probe):
    a, _ = real_batch(1, 300)
    b, _ = real_batch(2, 300)
    same = metrics.fd_probe(probe, a, b)
    shifted = metrics.fd_probe(probe, a, (b + 0.6).clamp(-1, 1))
    noise = metrics.fd_probe(probe, a, torch.rand_like(b) * 2 - 1)
    assert same < 0.1 * shifted and shifted < noise


def test_fid_refuses_without_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="FID and KID need the standard Inception-v3 weights.*none given"):
        metrics.fid_kid(tmp_path, tmp_path, None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        metrics.fid_kid(tmp_path, tmp_path, tmp_path / "inception.pth")


def test_evaluate_command_refuses_fid_without_weights(tmp_path, capsys):
    from gigagan.cli import main

    assert main(["evaluate", str(tmp_path), "--real", str(tmp_path)]) == 2
    assert "FID and KID need the standard Inception-v3 weights" in capsys.readouterr().err


def test_evaluate_pipeline_report_shape(probe):
    from gigagan import GigaGANPipeline

    pipe = GigaGANPipeline.from_preset("tiny")
    report = metrics.evaluate_pipeline(pipe, probe, n=16)
    assert set(report) >= {"accuracy_train", "accuracy_heldout", "fd_probe", "chance"}
    assert 0 <= report["accuracy_train"]["mean"] <= 1 and report["fd_probe"] > 0


def test_evaluate_sampler_scores_a_perfect_sampler_at_the_ceiling(probe):
    """A "sampler" that renders the prompt's own scene scores as the real scenes do."""
    def render(prompts, generator):
        attrs = [procedural.parse_caption(p) for p in prompts]
        for a in attrs:
            a.setdefault("position", "center")
        return metrics._to_tensor(procedural.render_batch(attrs, 32, seed=int(generator.initial_seed())))

    rep = metrics.evaluate_sampler(render, probe, 32, n=64, batch=32)
    assert rep["accuracy_train"]["background"] > 0.9 and rep["accuracy_train"]["color"] > 0.9, rep
    assert rep["fd_probe"] < 100

    def noise(prompts, generator):
        return torch.rand(len(prompts), 3, 32, 32, generator=generator) * 2 - 1

    bad = metrics.evaluate_sampler(noise, probe, 32, n=64, batch=32)
    assert bad["accuracy_train"]["background"] < 0.35 and bad["fd_probe"] > 5 * rep["fd_probe"], bad


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    """A randomly initialised CLIP saved like a downloaded one (offline stand-in for openai/clip-*)."""
    from transformers import CLIPConfig, CLIPModel

    from gigagan.models.text_encoder import offline_tokenizer

    tokenizer = offline_tokenizer()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-clip")
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_clip_score_is_the_mean_cosine_of_clip_embeddings(tiny_clip_dir):
    clip, tokenizer = metrics.load_clip(tiny_clip_dir)
    images = torch.rand(5, 3, 24, 24, generator=torch.Generator().manual_seed(1)) * 2 - 1
    prompts = ["a red circle on grass", "a blue star at night", "a pink heart on sand", "a cyan cross", "snow"]
    got = metrics.clip_score(clip, tokenizer, images, prompts, batch=2)
    # reference: CLIP's own preprocessing by hand, then cosine similarity, one pair at a time
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])[:, None, None]
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711])[:, None, None]
    sims = []
    with torch.no_grad():
        for image, prompt in zip(images, prompts):
            pixels = torch.nn.functional.interpolate(image[None], size=(32, 32), mode="bilinear", align_corners=False)
            pixels = ((pixels + 1) / 2 - mean) / std
            img = clip.get_image_features(pixel_values=pixels)
            txt = clip.get_text_features(**tokenizer([prompt], return_tensors="pt"))
            img = img if torch.is_tensor(img) else img.pooler_output
            txt = txt if torch.is_tensor(txt) else txt.pooler_output
            sims.append(torch.nn.functional.cosine_similarity(img, txt).item())
    assert got == pytest.approx(sum(sims) / len(sims), abs=1e-5)
    with pytest.raises(ValueError, match="5 images but 4 prompts"):
        metrics.clip_score(clip, tokenizer, images, prompts[:4])


def test_clip_score_refuses_without_local_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="needs a pretrained CLIP available locally"):
        metrics.load_clip(tmp_path / "no-such-clip")


def test_evaluate_command_adds_the_clip_score_with_a_local_clip(tiny_clip_dir, tmp_path, capsys):
    import json

    from gigagan import GigaGANPipeline
    from gigagan.cli import main

    GigaGANPipeline.from_preset("tiny").save_pretrained(tmp_path / "pipe")
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(tmp_path / "pipe"), "--n", "16", "--clip-model", str(tiny_clip_dir),
                 "--out", str(out)]) == 0
    assert "CLIP score" in capsys.readouterr().out
    assert -1 <= json.loads(out.read_text())["clip_score"] <= 1
    assert main(["evaluate", str(tmp_path / "pipe"), "--clip-model", str(tmp_path / "missing")]) == 2
    assert "needs a pretrained CLIP available locally" in capsys.readouterr().err
