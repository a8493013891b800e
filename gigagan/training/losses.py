"""GigaGAN's objective.

* Non-saturating logistic GAN loss, summed over every (input scale, output scale) pair
  of the MS-I/O discriminator (Eq. 6 of Kang et al., 2023); each pair's logits are
  averaged over the batch and over their spatial positions.
* Matching-aware loss (Eq. 8): a real image paired with a *wrong* caption, and a fake
  image paired with a wrong caption, both count as fake for D. GigaGAN applies it to G
  as well, without spelling out G's form in the sources we have. Our reading: G minimises
  ``softplus(D(G(c), c_hat) - D(G(c), c))``, i.e. it is rewarded when D scores its image
  higher with its own caption than with a wrong one. The difference cancels D's
  unconditional term, so this pushes text alignment without asking G to look *fake*
  (minimising ``softplus(D(G(c), c_hat))`` alone does, and collapsed our runs).
* R1 on real images (Mescheder et al., 2018), applied lazily every k steps.
* The CLIP contrastive loss (Eq. 9), with a CLIP model given by the caller.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

Predictions = Mapping[tuple[int, int], torch.Tensor]


def _sum_over_pairs(preds: Predictions, fn) -> torch.Tensor:
    return sum(fn(logits).mean() for logits in preds.values())


def d_loss_real(preds: Predictions) -> torch.Tensor:
    """``sum_ij E[softplus(-D_ij(x, c))]``: real, matching pairs should score high."""
    return _sum_over_pairs(preds, lambda l: F.softplus(-l))


def d_loss_fake(preds: Predictions) -> torch.Tensor:
    """``sum_ij E[softplus(D_ij(.))]``: fakes (and mismatched pairs) should score low."""
    return _sum_over_pairs(preds, F.softplus)


def g_loss_nonsaturating(preds: Predictions) -> torch.Tensor:
    """``sum_ij E[softplus(-D_ij(G(z, c), c))]``: the non-saturating generator loss."""
    return _sum_over_pairs(preds, lambda l: F.softplus(-l))


def matching_aware_d_loss(real_mismatched: Predictions, fake_mismatched: Predictions) -> torch.Tensor:
    """``E[softplus(D(x, c_hat))] + E[softplus(D(G(c), c_hat))]`` summed over pairs (Eq. 8)."""
    return d_loss_fake(real_mismatched) + d_loss_fake(fake_mismatched)


def matching_aware_g_loss(fake_matched: Predictions, fake_mismatched: Predictions) -> torch.Tensor:
    """G's share of Eq. 8 (our reading): ``sum_ij E[softplus(D_ij(G(c), c_hat) - D_ij(G(c), c))]``."""
    return sum(F.softplus(fake_mismatched[k] - fake_matched[k]).mean() for k in fake_matched)


def mismatched_captions(captions: Sequence[str], pool: Sequence[str], rng: random.Random) -> list[str]:
    """For each caption, a different caption drawn from ``pool`` (never the same text).

    Drawing from the whole dataset's captions, not by shuffling the batch, keeps this
    correct when captions repeat inside a batch.
    """
    distinct = sorted(set(pool))
    if len(distinct) < 2:
        raise ValueError("the matching-aware loss needs at least two distinct captions in the dataset; "
                         "add captions or set matching_weight=0")
    out = []
    for caption in captions:
        choice = distinct[rng.randrange(len(distinct))]
        while choice == caption:
            choice = distinct[rng.randrange(len(distinct))]
        out.append(choice)
    return out


def r1_penalty(real_score_fn, real: torch.Tensor) -> torch.Tensor:
    """R1: ``E_x[ ||grad_x s(x)||^2 ] / 2`` with ``s(x)`` the summed real score of each sample.

    ``real_score_fn(x)`` returns one score per sample. Multiply by gamma (and by the lazy
    interval) outside.
    """
    real = real.detach().requires_grad_(True)
    scores = real_score_fn(real)
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return 0.5 * grad.square().flatten(1).sum(1).mean()


def real_scores(preds: Predictions) -> torch.Tensor:
    """One score per sample: every pair's logits averaged over space, summed over pairs."""
    return sum(logits.flatten(1).mean(1) for logits in preds.values())


def clip_contrastive_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                          logit_scale: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Eq. 9: cross-entropy of each generated image against all captions of the batch.

    ``image_embeds[i]`` should match ``text_embeds[i]``; both are L2-normalised here.
    """
    image_embeds = F.normalize(image_embeds, dim=-1)
    text_embeds = F.normalize(text_embeds, dim=-1)
    logits = logit_scale * image_embeds @ text_embeds.t()
    return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))
