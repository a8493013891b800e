"""The GigaGAN objective against hand computations on small tensors."""

import math
import random

import pytest
import torch

from gigagan.training import losses


def softplus(x):
    return math.log1p(math.exp(x))


@pytest.fixture
def preds():
    # two (input, output) scale pairs: a 2x2 map and a global 1x1 logit, batch of 2
    return {(0, 1): torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]], [[[1.0, 1.0], [-2.0, 3.0]]]]),
            (0, 2): torch.tensor([[[[0.25]]], [[[-0.75]]]])}


def hand_mean(values, fn):
    return sum(fn(v) for v in values) / len(values)


def test_losses_sum_over_scale_pairs(preds):
    a = [0.5, -1.0, 2.0, 0.0, 1.0, 1.0, -2.0, 3.0]
    b = [0.25, -0.75]
    real = hand_mean(a, lambda v: softplus(-v)) + hand_mean(b, lambda v: softplus(-v))
    fake = hand_mean(a, softplus) + hand_mean(b, softplus)
    assert losses.d_loss_real(preds).item() == pytest.approx(real, rel=1e-6)
    assert losses.d_loss_fake(preds).item() == pytest.approx(fake, rel=1e-6)
    assert losses.g_loss_nonsaturating(preds).item() == pytest.approx(real, rel=1e-6)


def test_matching_aware_losses(preds):
    other = {k: -v for k, v in preds.items()}
    expected = losses.d_loss_fake(preds).item() + losses.d_loss_fake(other).item()
    assert losses.matching_aware_d_loss(preds, other).item() == pytest.approx(expected)
    # G: softplus(D(G(c), c_hat) - D(G(c), c)); with "other" = -preds the difference is -2 * preds
    b = [0.25, -0.75]
    a = [0.5, -1.0, 2.0, 0.0, 1.0, 1.0, -2.0, 3.0]
    expected_g = hand_mean(a, lambda v: softplus(-2 * v)) + hand_mean(b, lambda v: softplus(-2 * v))
    assert losses.matching_aware_g_loss(preds, other).item() == pytest.approx(expected_g, rel=1e-6)
    # D's unconditional part cancels: adding a constant to both leaves G's matching loss unchanged
    shifted = {k: v + 5.0 for k, v in preds.items()}
    shifted_other = {k: v + 5.0 for k, v in other.items()}
    assert losses.matching_aware_g_loss(shifted, shifted_other).item() == pytest.approx(expected_g, rel=1e-6)


def test_mismatched_captions_always_differ_even_with_repeats():
    rng = random.Random(0)
    batch = ["a red star on snow"] * 5 + ["a blue circle on sand"] * 3
    pool = ["a red star on snow", "a blue circle on sand", "a green cross on wood"]
    for _ in range(50):
        wrong = losses.mismatched_captions(batch, pool, rng)
        assert len(wrong) == len(batch)
        assert all(w != c for w, c in zip(wrong, batch))
        assert set(wrong) <= set(pool)


def test_mismatched_captions_needs_two_distinct_captions():
    with pytest.raises(ValueError, match="at least two distinct captions"):
        losses.mismatched_captions(["a"], ["a", "a"], random.Random(0))


def test_r1_matches_per_sample_autograd_reference():
    torch.manual_seed(0)
    weight = torch.randn(3 * 4 * 4, dtype=torch.double)

    def score(x):  # a non-linear "discriminator" with one score per sample
        return torch.tanh(x.flatten(1) @ weight) + (x.flatten(1) ** 2).sum(1) * 0.1

    real = torch.randn(5, 3, 4, 4, dtype=torch.double)
    penalty = losses.r1_penalty(score, real)
    expected = 0.0
    for i in range(5):
        x = real[i:i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(score(x).sum(), x)
        expected += 0.5 * g.pow(2).sum().item() / 5
    assert penalty.item() == pytest.approx(expected, rel=1e-10)
    # the penalty is differentiable (it is minimised with respect to D's weights)
    weight.requires_grad_(True)
    losses.r1_penalty(score, real).backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_real_scores_average_space_and_sum_pairs(preds):
    scores = losses.real_scores(preds)
    torch.testing.assert_close(scores, torch.tensor([(1.5 / 4) + 0.25, (3.0 / 4) - 0.75]))


def test_clip_contrastive_loss_hand_computation():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[2.0, 0.0], [1.0, 1.0]])  # normalised: [1, 0], [0.707, 0.707]
    s = 1 / math.sqrt(2)
    row0 = -math.log(math.exp(1.0) / (math.exp(1.0) + math.exp(s)))
    row1 = -math.log(math.exp(s) / (math.exp(0.0) + math.exp(s)))
    assert losses.clip_contrastive_loss(img, txt).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
