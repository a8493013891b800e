"""Procedural scenes: determinism, ground truth, held-out pairs, folders."""

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gigagan.data import procedural as P


def test_vocabulary_is_rich_enough():
    assert len(P.COLORS) >= 8 and len(P.SHAPES) >= 8
    assert {"grass", "snow", "brick", "sand", "water", "sky", "night", "wood"} <= set(P.BACKGROUNDS)
    assert len(P.TRAIN_COMBINATIONS) + len(P.HELDOUT_COMBINATIONS) == len(P.COLORS) * len(P.SHAPES)
    # every colour and every shape is still seen in training
    assert {c for c, _ in P.TRAIN_COMBINATIONS} == set(P.COLORS)
    assert {s for _, s in P.TRAIN_COMBINATIONS} == set(P.SHAPES)


def test_same_seed_same_bytes_different_index_different_image():
    a, text_a, attrs_a = P.make_sample(seed=3, index=11, size=64)
    b, text_b, attrs_b = P.make_sample(seed=3, index=11, size=64)
    assert a.tobytes() == b.tobytes() and text_a == text_b and attrs_a == attrs_b
    others = [P.make_sample(3, i, 64)[0].tobytes() for i in range(12, 20)]
    assert a.tobytes() not in others and len(set(others)) == len(others)
    assert P.make_sample(4, 11, 64)[0].tobytes() != a.tobytes()


def test_batch_rendering_equals_single_rendering():
    attrs = [P.sample_attributes(0, i) for i in range(24)]
    batch = P.render_batch(attrs, 48, seed=0, indices=range(100, 124))
    for i in (0, 7, 23):
        assert np.array_equal(batch[i], np.asarray(P.render(attrs[i], 48, seed=0, index=100 + i)))


@pytest.mark.parametrize("size", [32, 50, 64, 128, 256])
def test_any_resolution(size):
    image, _, _ = P.make_sample(0, 5, size)
    assert image.size == (size, size) and image.mode == "RGB"


def test_a_scene_looks_the_same_at_every_resolution():
    attrs = [P.sample_attributes(0, i) for i in range(16)]
    small = P.render_batch(attrs, 32).astype(np.float32)
    large = P.render_batch(attrs, 128)
    down = np.stack([np.asarray(Image.fromarray(x).resize((32, 32), Image.BOX)) for x in large]).astype(np.float32)
    assert np.abs(small - down).mean() < 12  # same layout and colours, details differ


def test_the_object_has_its_colour_and_the_background_its_own():
    """Ground truth matches the pixels: the nearest palette colour at the object's
    centre is its colour, the nearest background mean around it is its background."""
    size, n = 64, 300
    images, _, attrs = P.make_batch(7, range(n), size)
    palette = {name: np.float32(rgb) for name, rgb in P.COLORS.items()}
    bg_means = {b: P._texture(b, size).reshape(-1, 3).mean(0) for b in P.BACKGROUNDS}
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    for i, (image, a) in enumerate(zip(images, attrs)):
        j = P._jitter(a, size, 7, i)
        y, x = int(j["cy"] * size), int(j["cx"] * size)
        pixel = image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(0)
        assert min(palette, key=lambda c: np.linalg.norm(palette[c] - pixel)) == a["color"]
        far = np.hypot(xx - j["cx"] * size, yy - j["cy"] * size) > 1.4 * j["r"] * size + 3
        around = image[far].mean(0)
        assert min(bg_means, key=lambda b: np.linalg.norm(bg_means[b] - around)) == a["background"]


def test_background_means_are_far_apart():
    means = [P._texture(b, 32).reshape(-1, 3).mean(0) for b in P.BACKGROUNDS]
    gaps = [np.linalg.norm(a - b) for k, a in enumerate(means) for b in means[k + 1 :]]
    assert min(gaps) > 60


def test_objects_are_anti_aliased_and_large():
    attrs = {"color": "red", "shape": "square", "background": "snow", "size": "large", "position": "center"}
    image = np.asarray(P.render(attrs, 64)).astype(int)
    red = (image[..., 0] > 150) & (image[..., 1] < 90)
    assert red.mean() > 0.15  # a fairly large object
    row = image[32, :, 1]  # green channel across the object: edges pass through in-between values
    assert len(np.unique(row)) > 8


def test_captions_agree_with_attributes():
    for i in range(400):
        attrs = P.sample_attributes(1, i)
        text = P.caption(attrs, seed=1, index=i)
        parsed = P.parse_caption(text)
        for key in ("color", "shape", "background"):
            assert parsed[key] == attrs[key], (text, attrs)
        for key in ("size", "position"):
            assert parsed.get(key, attrs[key]) == attrs[key], (text, attrs)


def test_every_template_and_background_parses_back():
    for b in P.BACKGROUNDS:
        for t in range(len(P.TEMPLATES)):
            attrs = {"color": "orange", "shape": "star", "background": b, "size": "small", "position": "right"}
            parsed = P.parse_caption(P.caption(attrs, t))
            assert {k: parsed[k] for k in ("color", "shape", "background")} == {
                "color": "orange", "shape": "star", "background": b}


def test_several_templates_are_used_and_grammar_holds():
    texts = [P.record(0, i)["text"] for i in range(300)]
    starts = Counter(t.split(" ")[1] for t in texts)
    assert len(starts) >= 4
    assert not any(" a orange" in t or t.startswith("a orange") for t in texts)


def test_canonical_caption_is_fixed():
    attrs = {"color": "red", "shape": "star", "background": "snow", "size": "large", "position": "left"}
    assert P.canonical_caption(attrs) == "a large red star on snow"
    assert P.parse_caption(P.canonical_caption(attrs)) == {"color": "red", "shape": "star", "size": "large",
                                                           "background": "snow"}


def test_heldout_combinations_never_appear_in_training():
    train = [P.sample_attributes(0, i, "train") for i in range(5000)]
    assert not any(P.is_heldout(a) for a in train)
    assert {(a["color"], a["shape"]) for a in train} == set(P.TRAIN_COMBINATIONS)
    heldout = [P.sample_attributes(0, i, "heldout") for i in range(400)]
    assert all(P.is_heldout(a) for a in heldout)
    assert {(a["color"], a["shape"]) for a in heldout} == P.HELDOUT_COMBINATIONS
    for key, values in (("background", P.BACKGROUNDS), ("size", P.SIZES), ("position", P.POSITIONS)):
        assert {a[key] for a in train} == set(values)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        P.sample_attributes(0, 0, "test")
    with pytest.raises(ValueError, match=">= 0"):
        P.sample_attributes(-1, 0)


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


def test_write_folder_is_deterministic(tmp_path):
    a = P.write_folder(tmp_path / "a", n=6, size=32, seed=2, progress=False)
    b = P.write_folder(tmp_path / "b", n=6, size=32, seed=2, progress=False)
    assert {k: v[1] for k, v in _snapshot(a).items()} == {k: v[1] for k, v in _snapshot(b).items()}
    lines = [json.loads(l) for l in (a / "metadata.jsonl").read_text().splitlines()]
    assert lines[0] == P.record(2, 0)
    assert set(lines[0]) == {"file_name", "text", "seed", "index", "split", "color", "shape", "background",
                             "size", "position"}


def test_write_folder_resumes_without_rewriting(tmp_path):
    out = P.write_folder(tmp_path / "scenes", n=5, size=32, progress=False)
    reference = _snapshot(out)
    # an interrupted run: image 3 lost, a temporary file left, half a metadata line written
    (out / "00003.png").unlink()
    (out / ".00005.png.tmp").write_bytes(b"partial")
    with open(out / "metadata.jsonl", "a") as f:
        f.write('{"file_name": "00005.png", "te')
    P.write_folder(out, n=6, size=32, progress=False)
    after = _snapshot(out)
    for name in ("00000.png", "00001.png", "00002.png", "00004.png"):
        assert after[name] == reference[name]  # same bytes, same mtime: not rewritten
    assert after["00003.png"][1] == reference["00003.png"][1]  # re-rendered identically
    assert "00005.png" in after and ".00005.png.tmp" not in after
    names = [json.loads(l)["file_name"] for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert sorted(names) == [f"{i:05d}.png" for i in range(6)]  # one line each, no duplicate
    P.write_folder(out, n=6, size=32, progress=False)
    assert _snapshot(out) == _snapshot(out) and _snapshot(out)["metadata.jsonl"] == after["metadata.jsonl"]


def test_write_folder_refuses_to_mix_settings(tmp_path):
    out = P.write_folder(tmp_path / "scenes", n=2, size=32, progress=False)
    with pytest.raises(FileExistsError, match="seed=0, not 1"):
        P.write_folder(out, n=2, size=32, seed=1, progress=False)
    with pytest.raises(FileExistsError, match="32x32, not 64x64"):
        P.write_folder(out, n=2, size=64, progress=False)
    with pytest.raises(FileExistsError, match="split"):
        P.write_folder(out, n=2, size=32, split="heldout", progress=False)


def test_contact_sheet(tmp_path):
    sheet = P.contact_sheet(n=8, size=48, columns=4)
    assert sheet.width == 4 * 58 + 10 and sheet.height > 2 * 48
    checked_in = Path(__file__).resolve().parents[1] / "docs" / "contact_sheet.png"
    assert checked_in.stat().st_size < 300_000
    with Image.open(checked_in) as image:
        assert image.width > 600


def test_rendering_is_fast():
    start = time.perf_counter()
    P.make_batch(0, range(1000), 64)
    assert time.perf_counter() - start < 5.0  # ~0.7 s here; the benchmark measures it properly
