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
