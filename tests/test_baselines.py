"""The diffusion baseline: training lowers the DDPM loss, guidance behaves, saving round-trips."""

import pytest
import torch

from gigagan.baselines.diffusion import DiffusionBaseline
from gigagan.data import procedural
from gigagan.metrics import _to_tensor

SMALL = dict(block_out_channels=(16, 32, 32), norm_num_groups=8)


class Scenes(torch.utils.data.Dataset):
    def __init__(self, n):
        images, self.captions, _ = procedural.make_batch(0, range(n), 32)
        self.images = _to_tensor(images)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.captions[i]


@pytest.fixture(scope="module")
def trained():
    model = DiffusionBaseline.from_preset("tiny", unet_config=SMALL)
    data = Scenes(8)
    batch = data.images
    embeds, mask = model.encode(data.captions)
    with torch.no_grad():
        before = sum(model.loss(batch, embeds, mask, torch.Generator().manual_seed(s)).item() for s in range(8))
    stats = model.fit(data, max_steps=30, progress=False, lr=3e-3, batch_size=8)
    with torch.no_grad():
        after = sum(model.loss(batch, embeds, mask, torch.Generator().manual_seed(s)).item() for s in range(8))
    return model, before, after, stats


def test_training_lowers_the_ddpm_loss(trained):
    model, before, after, stats = trained
    assert stats["steps"] == 30 and stats["images"] == 240
    assert after < 0.7 * before, (before, after)


def test_loss_is_the_mse_of_the_predicted_noise():
    model = DiffusionBaseline.from_preset("tiny", unet_config=SMALL)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    embeds, mask = model.encode(["a red circle on grass", "a blue star at night"])
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(images.shape, generator=g)
    t = torch.randint(0, 1000, (2,), generator=g)
    with torch.no_grad():
        pred = model.unet(model.scheduler.add_noise(images, noise, t), t, encoder_hidden_states=embeds,
                          encoder_attention_mask=mask).sample
        expected = ((pred - noise) ** 2).mean()
        got = model.loss(images, embeds, mask, torch.Generator().manual_seed(3))
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_zero_guidance_is_the_unconditional_model(trained):
    model = trained[0]
    cond = model.sample(["a red circle on grass"], steps=3, guidance_scale=0.0, generator=torch.Generator().manual_seed(1))
    uncond = model.sample([""], steps=3, guidance_scale=7.0, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(cond, uncond, atol=1e-5)
    guided = model.sample(["a red circle on grass"], steps=3, guidance_scale=3.0, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(guided, uncond, atol=1e-3)
    assert guided.shape == (1, 3, 32, 32) and guided.abs().max() <= 1


def test_save_and_load_round_trip(trained, tmp_path):
    model = trained[0]
    model.save_pretrained(tmp_path / "baseline")
    assert (tmp_path / "baseline" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    again = DiffusionBaseline.from_pretrained(tmp_path / "baseline")
    a = model.sample(["a pink heart on sand"], steps=2, generator=torch.Generator().manual_seed(5))
    b = again.sample(["a pink heart on sand"], steps=2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and again.step == model.step


def test_clear_errors(trained, tmp_path):
    model = trained[0]
    with pytest.raises(ValueError, match="give a budget"):
        model.fit(Scenes(16))
    with pytest.raises(ValueError, match="unknown training setting"):
        model.fit(Scenes(16), max_steps=1, learning_rate=1.0)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        model.sample(["x"], steps=0)
    with pytest.raises(FileNotFoundError, match="not a saved diffusion baseline"):
        DiffusionBaseline.from_pretrained(tmp_path)
