"""The scene CLIP: the tiny CLIP pretrained on procedural scenes that the tiny preset reads prompts with."""

import math

import pytest
import torch

from gigagan.models import build_text_encoder
from gigagan.models import scene_clip
from gigagan.models.text_encoder import encode_tokens, tokenize

SMALL = dict(steps=12, n_images=128, batch_size=32)


def test_contrastive_loss_matches_hand_computation():
    img = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=-1)
    txt = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=-1)
    scale = 2.0
    logits = [[scale * sum(a * b for a, b in zip(i, t)) for t in txt.tolist()] for i in img.tolist()]

    def ce(rows):
        return sum(-rows[k][k] + math.log(sum(math.exp(v) for v in rows[k])) for k in range(2)) / 2

    columns = [list(c) for c in zip(*logits)]
    expected = (ce(logits) + ce(columns)) / 2
    assert scene_clip.contrastive_loss(img, txt, torch.tensor(scale)).item() == pytest.approx(expected, rel=1e-6)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    messages = []
    folder = scene_clip.ensure_scene_clip(cache_dir=root, progress=False, log=messages.append, **SMALL)
    return root, folder, messages


def test_ensure_trains_once_and_saves_safetensors(cached):
    root, folder, messages = cached
    assert (folder / "model.safetensors").is_file() and (folder / "text_encoder" / "model.safetensors").is_file()
    assert any("training the scene CLIP" in m for m in messages)
    assert not list(root.glob("*.tmp-*")), "the temporary folder must be renamed, not left behind"
    again = []
    assert scene_clip.ensure_scene_clip(cache_dir=root, progress=False, log=again.append, **SMALL) == folder
    assert again == [], "a valid cache is reused without training"
    other = scene_clip.cache_folder(root, **dict(SMALL, steps=13))
    assert other != folder, "different settings get a different cache folder"


def test_text_encoder_round_trip_equals_the_trained_tower(cached):
    _, folder, _ = cached
    from transformers import CLIPModel

    full = CLIPModel.from_pretrained(folder, local_files_only=True)
    text, tokenizer = scene_clip.load_text_encoder(folder)
    assert not any(p.requires_grad for p in text.parameters())
    ids, mask = tokenize(tokenizer, ["a red star on snow", "a blue circle on grass"], 24)
    with torch.no_grad():
        a = text(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        b = full.text_model(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # the CLIPModel's tower
    torch.testing.assert_close(a, b)


def test_architecture_only_build_matches_the_trained_one(cached, monkeypatch):
    root, folder, _ = cached
    monkeypatch.setenv("GIGAGAN_CACHE", str(root))
    spec = {"scene_clip": dict(SMALL)}
    loaded, _, from_hub = build_text_encoder(spec)
    bare, _, _ = build_text_encoder(spec, load_weights=False)
    assert from_hub is False, "the scene CLIP's weights travel in checkpoints"
    assert {k: v.shape for k, v in loaded.state_dict().items()} == {k: v.shape for k, v in bare.state_dict().items()}
    bare.load_state_dict(loaded.state_dict())
    ids, mask = tokenize(loaded_tokenizer := scene_clip.load_text_encoder(folder)[1], ["a pink heart in the sky"], 24)
    assert loaded_tokenizer is not None
    torch.testing.assert_close(encode_tokens(bare, ids, mask), encode_tokens(loaded, ids, mask))


def test_damaged_cache_is_reported_and_rebuilt(tmp_path):
    folder = scene_clip.ensure_scene_clip(cache_dir=tmp_path, progress=False, log=lambda m: None, **SMALL)
    weights = folder / "text_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(FileNotFoundError, match="missing or damaged.*delete the folder"):
        scene_clip.load_text_encoder(folder)
    messages = []
    assert scene_clip.ensure_scene_clip(cache_dir=tmp_path, progress=False, log=messages.append, **SMALL) == folder
    assert any("training it again" in m for m in messages)
    scene_clip.load_text_encoder(folder)


def test_short_training_learns_backgrounds_and_colours():
    """The recipe works: 150 steps already beat chance (1/8) by far on fresh scenes."""
    model, tokenizer, report = scene_clip.train_scene_clip(steps=150, n_images=2000, progress=False)
    acc = report["zero_shot_accuracy"]
    assert acc["background"] > 0.6 and acc["color"] > 0.6, acc
    untrained = scene_clip.train_scene_clip(steps=0, n_images=64, progress=False)[2]["zero_shot_accuracy"]
    assert untrained["color"] < 0.4, untrained
