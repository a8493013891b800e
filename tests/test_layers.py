"""Building blocks against naive reference computations."""

import math

import pytest
import torch
import torch.nn.functional as F

from gigagan.models.attention import CrossAttention, L2SelfAttention, l2_logits
from gigagan.models.layers import AdaptiveConv2d, EqualLinear


def naive_adaptive_conv(layer: AdaptiveConv2d, x, w):
    """One sample at a time: weighted kernel sum, modulate, demodulate, conv."""
    outs = []
    for b in range(x.shape[0]):
        logits = F.linear(w[b], layer.selector.weight * layer.selector.weight_gain, layer.selector.bias)
        p = torch.softmax(logits, dim=0)
        kernel = sum(p[i] * layer.kernels[i] for i in range(layer.num_kernels))
        kernel = kernel / math.sqrt(layer.in_channels * layer.kernel_size ** 2)
        style = F.linear(w[b], layer.modulation.weight * layer.modulation.weight_gain, layer.modulation.bias)
        kernel = kernel * style[None, :, None, None]
        if layer.demodulate:
            kernel = kernel / torch.sqrt((kernel ** 2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        outs.append(F.conv2d(x[b:b + 1], kernel, layer.bias, padding=layer.kernel_size // 2))
    return torch.cat(outs)


@pytest.mark.parametrize("demodulate", [True, False])
def test_adaptive_conv_matches_naive_reference(demodulate):
    torch.manual_seed(0)
    layer = AdaptiveConv2d(6, 5, 3, w_dim=16, num_kernels=4, demodulate=demodulate).double()
    with torch.no_grad():
        layer.bias.normal_()
        layer.modulation.bias.normal_()
    x, w = torch.randn(3, 6, 7, 7, dtype=torch.double), torch.randn(3, 16, dtype=torch.double)
    torch.testing.assert_close(layer(x, w), naive_adaptive_conv(layer, x, w), atol=1e-5, rtol=0)
    # the same in float32, as trained
    layer = layer.float()
    torch.testing.assert_close(layer(x.float(), w.float()), naive_adaptive_conv(layer, x.float(), w.float()),
                               atol=1e-5, rtol=1e-5)


def test_kernel_selection_weights_sum_to_one_and_depend_on_w():
    torch.manual_seed(1)
    layer = AdaptiveConv2d(4, 4, 3, w_dim=8, num_kernels=6)
    weights = layer.selection_weights(torch.randn(5, 8))
    assert weights.shape == (5, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(5))
    assert (weights > 0).all()
    assert not torch.allclose(weights[0], weights[1], atol=1e-4)


def test_adaptive_conv_rejects_zero_kernels():
    with pytest.raises(ValueError, match="num_kernels"):
        AdaptiveConv2d(4, 4, 3, w_dim=8, num_kernels=0)


def naive_l2_attention(layer: L2SelfAttention, x, w):
    b, c, h, wd = x.shape
    tokens = x.flatten(2).transpose(1, 2) * F.linear(w, layer.style.weight * layer.style.weight_gain,
                                                     layer.style.bias)[:, None, :]
    wqk = layer.to_qk.weight * layer.to_qk.weight_gain
    wv = layer.to_v.weight * layer.to_v.weight_gain
    d = c // layer.heads
    out = torch.zeros_like(tokens)
    for bi in range(b):
        heads = []
        for hi in range(layer.heads):
            q = tokens[bi] @ wqk[hi * d:(hi + 1) * d].T
            v = tokens[bi] @ wv[hi * d:(hi + 1) * d].T
            logits = torch.empty(q.shape[0], q.shape[0], dtype=x.dtype)
            for i in range(q.shape[0]):
                for j in range(q.shape[0]):
                    logits[i, j] = -((q[i] - q[j]) ** 2).sum() / math.sqrt(d)
            heads.append(torch.softmax(logits, -1) @ v)
        out[bi] = F.linear(torch.cat(heads, -1), layer.to_out.weight * layer.to_out.weight_gain, layer.to_out.bias)
    return x + layer.residual_gain * out.transpose(1, 2).reshape(b, c, h, wd)


def test_l2_attention_matches_naive_reference():
    torch.manual_seed(2)
    layer = L2SelfAttention(8, heads=2, w_dim=6, residual_gain=0.3).double()
    x, w = torch.randn(2, 8, 3, 3, dtype=torch.double), torch.randn(2, 6, dtype=torch.double)
    torch.testing.assert_close(layer(x, w), naive_l2_attention(layer, x, w), atol=1e-10, rtol=0)


def test_l2_logits_are_scaled_negative_squared_distances():
    torch.manual_seed(3)
    q, k = torch.randn(5, 4, dtype=torch.double), torch.randn(7, 4, dtype=torch.double)
    expected = -torch.cdist(q, k) ** 2 / 2.0  # sqrt(d) = 2
    torch.testing.assert_close(l2_logits(q, k), expected)
    assert (l2_logits(q, q).diagonal().abs() < 1e-9).all()  # a token is at distance 0 from itself
    assert (l2_logits(q, k) <= 0).all()


def test_l2_attention_ties_query_and_key_weights():
    layer = L2SelfAttention(8, heads=2)
    names = [n for n, _ in layer.named_parameters()]
    assert "to_qk.weight" in names
    assert not any(n.startswith(("to_q.", "to_k.")) for n in names)
    tokens = torch.randn(1, 5, 8)
    # logits come from the one tensor: perturbing it changes them
    before = layer.logits(tokens)
    with torch.no_grad():
        layer.to_qk.weight.add_(0.5)
    assert not torch.allclose(before, layer.logits(tokens))


def test_cross_attention_respects_padding_mask():
    torch.manual_seed(4)
    layer = CrossAttention(8, text_dim=6, heads=2, residual_gain=1.0)
    x = torch.randn(2, 8, 4, 4)
    text = torch.randn(2, 5, 6)
    mask = torch.tensor([[True, True, True, False, False]] * 2)
    out = layer(x, text, mask)
    padded = text.clone()
    padded[:, 3:] = torch.randn(2, 2, 6) * 10
    torch.testing.assert_close(layer(x, padded, mask), out)  # padding tokens are ignored
    changed = text.clone()
    changed[:, 1] += 1.0
    assert not torch.allclose(layer(x, changed, mask), out)  # a real token matters


def test_equal_linear_scales_at_runtime():
    layer = EqualLinear(16, 4, lr_mul=0.01)
    x = torch.randn(3, 16)
    expected = x @ (layer.weight * 0.01 / 4.0).T + layer.bias * 0.01
    torch.testing.assert_close(layer(x), expected)
