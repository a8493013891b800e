"""The folder format and `CaptionedImageDataset`: round trips, captions, bad input."""

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gigagan.data import folder, procedural
from gigagan.data.dataset import CaptionedImageDataset


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    """Six procedural scenes at 48x48 with metadata.jsonl (do not modify; copy)."""
    return procedural.write_folder(tmp_path_factory.mktemp("src") / "scenes", n=6, size=48, seed=1, progress=False)


@pytest.fixture
def copy(scenes, tmp_path) -> Path:
    return Path(shutil.copytree(scenes, tmp_path / "data"))


def _append(root: Path, line: str) -> None:
    with open(root / folder.METADATA_FILE, "a") as f:
        f.write(line + "\n")


def _fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes() + str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def test_round_trip_procedural_folder_loader(scenes):
    ds = CaptionedImageDataset(scenes, resolution=32, progress=False)
    lines = [json.loads(l) for l in (scenes / "metadata.jsonl").read_text().splitlines()]
    assert len(ds) == 6 and ds.skipped == []
    assert ds.records == lines  # file_name, text and every attribute
    image, text = ds[2]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert -1.0 <= image.min() < image.max() <= 1.0
    assert text == lines[2]["text"]
    expected = np.asarray(Image.open(scenes / lines[2]["file_name"]).resize((32, 32), Image.LANCZOS))
    assert np.allclose(((image + 1) * 127.5).permute(1, 2, 0).numpy(), expected, atol=0.01)
    images, texts = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert images.shape == (4, 3, 32, 32) and list(texts) == [l["text"] for l in lines[:4]]


def test_an_epoch_decodes_no_image(scenes, monkeypatch):
    ds = CaptionedImageDataset(scenes, resolution=16, progress=False)

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was opened after construction")

    monkeypatch.setattr(Image, "open", no_decoding)
    assert sum(float(ds[i][0].mean()) for i in range(len(ds))) != 0
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (6, 3, 16, 16)


def test_huggingface_imagefolder_loads_our_folder(scenes, tmp_path):
    datasets = pytest.importorskip("datasets")
    hf = datasets.load_dataset("imagefolder", data_dir=str(scenes), split="train", cache_dir=str(tmp_path / "hf"))
    lines = [json.loads(l) for l in (scenes / "metadata.jsonl").read_text().splitlines()]
    assert len(hf) == 6
    assert sorted(hf["text"]) == sorted(l["text"] for l in lines)
    assert {"image", "text", "seed", "color", "shape", "background"} <= set(hf.column_names)
    assert hf[0]["image"].size == (48, 48)


def test_sidecar_captions(tmp_path):
    for i, text in enumerate(["a cat", "a dog"]):
        Image.new("RGB", (40, 40), (i * 200, 50, 50)).save(tmp_path / f"img{i}.jpg")
        (tmp_path / f"img{i}.txt").write_text(text + "\n")
    (tmp_path / "notes.md").write_text("not an image, ignored")
    ds = CaptionedImageDataset(tmp_path, 32, progress=False)
    assert [r["text"] for r in ds.records] == ["a cat", "a dog"]
    assert [r["file_name"] for r in ds.records] == ["img0.jpg", "img1.jpg"]


def test_folder_without_captions_needs_caption(tmp_path):
    sub = tmp_path / "photos" / "day1"
    sub.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (36, 40), (40 * i, 90, 10)).save(sub / f"{i}.png")
    with pytest.raises(folder.MissingCaptionError, match=r'no captions: .* --caption "\.\.\."'):
        CaptionedImageDataset(tmp_path / "photos", 32, progress=False)
    ds = CaptionedImageDataset(tmp_path / "photos", 32, caption="a photo of a dog", progress=False)
    assert len(ds) == 3 and {t for _, t in ds} == {"a photo of a dog"}
    assert ds.records[0]["file_name"] == "day1/0.png"


def test_any_mode_and_shape_becomes_rgb_square(tmp_path):
    Image.new("L", (64, 40), 128).save(tmp_path / "gray.png")
    Image.new("RGBA", (40, 64), (255, 0, 0, 0)).save(tmp_path / "clear.png")  # fully transparent
    Image.new("P", (50, 50), 3).save(tmp_path / "palette.gif")
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    ds = CaptionedImageDataset(tmp_path, 32, caption="x", progress=False)
    assert ds.images.shape == (4, 3, 32, 32)
    by_name = {r["file_name"]: ds[i][0] for i, r in enumerate(ds.records)}
    assert torch.allclose(by_name["clear.png"], torch.ones(3, 32, 32))  # transparency becomes white
    gray = by_name["gray.png"]
    assert torch.allclose(gray[0], gray[1]) and torch.allclose(gray[1], gray[2])


# Each kind of bad input: how to make it, the error class, what its message must say.
def _corrupt(root):
    data = bytearray((root / "00000.png").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = bytes(16)
    (root / "corrupt.png").write_bytes(bytes(data))
    _append(root, '{"file_name": "corrupt.png", "text": "x"}')
    return "corrupt.png"


def _truncated(root):
    data = (root / "00000.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) * 6 // 10])
    _append(root, '{"file_name": "truncated.png", "text": "x"}')
    return "truncated.png"


def _not_an_image(root):
    (root / "notes.png").write_text("these are my notes, not a picture")
    _append(root, '{"file_name": "notes.png", "text": "x"}')
    return "notes.png"


def _bad_json(root):
    _append(root, '{"file_name": "00001.png", text: "no quotes"}')
    return "metadata.jsonl"


def _missing_file(root):
    _append(root, '{"file_name": "gone.png", "text": "a lost image"}')
    return "gone.png"


def _too_small(root):
    Image.new("RGB", (20, 24), "red").save(root / "small.png")
    _append(root, '{"file_name": "small.png", "text": "a tiny red square"}')
    return "small.png"


def _no_caption(root):
    Image.new("RGB", (48, 48), "blue").save(root / "quiet.png")
    _append(root, '{"file_name": "quiet.png"}')
    return "quiet.png"


BAD_INPUTS = {
    "corrupt": (_corrupt, folder.BadImageError, ["corrupt.png", "damaged or truncated image"]),
    "truncated": (_truncated, folder.BadImageError, ["truncated.png", "damaged or truncated image"]),
    "not_an_image": (_not_an_image, folder.BadImageError, ["notes.png", "not an image"]),
    "bad_json": (_bad_json, folder.MetadataError, ["metadata.jsonl line 7", "not valid JSON", "fix or delete"]),
    "missing_file": (_missing_file, folder.MissingImageError, ["gone.png (metadata.jsonl line 7)", "does not exist"]),
    "too_small": (_too_small, folder.ImageTooSmallError, ["small.png", "20x24", "resolution of 20", "--skip-bad"]),
    "no_caption": (_no_caption, folder.MissingCaptionError, ["quiet.png (metadata.jsonl line 7)", "no caption"]),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_has_a_clear_message_or_is_skipped(copy, kind):
    make, error, phrases = BAD_INPUTS[kind]
    name = make(copy)
    with pytest.raises(error) as caught:
        CaptionedImageDataset(copy, 32, progress=False)
    message = str(caught.value)
    assert message.startswith(f"found 1 bad input in {copy}:")
    for phrase in phrases + ["--skip-bad"]:
        assert phrase in message, message
    if error is folder.MissingImageError:
        assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, ValueError)

    with pytest.warns(UserWarning, match="skipped 1 bad inputs"):
        ds = CaptionedImageDataset(copy, 32, skip_bad=True, progress=False)
    assert len(ds) == 6
    assert [f for f, _ in ds.skipped] == [name]
    assert all(p in ds.skipped[0][1] for p in phrases if "skip" not in p)


def test_every_bad_input_at_once_is_listed(copy):
    for make, _, _ in BAD_INPUTS.values():
        make(copy)
    with pytest.raises(folder.DataError) as caught:
        CaptionedImageDataset(copy, 32, progress=False)
    assert str(caught.value).startswith(f"found {len(BAD_INPUTS)} bad inputs")
    assert len(caught.value.problems) == len(BAD_INPUTS)
    with pytest.warns(UserWarning):
        assert len(CaptionedImageDataset(copy, 32, skip_bad=True, progress=False)) == 6


def test_empty_folder(tmp_path):
    with pytest.raises(folder.EmptyFolderError, match="holds no images"):
        CaptionedImageDataset(tmp_path, 32, progress=False)
    with pytest.raises(folder.EmptyFolderError):
        CaptionedImageDataset(tmp_path, 32, skip_bad=True, progress=False)
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(folder.EmptyFolderError, match="no usable images"):
        CaptionedImageDataset(tmp_path, 32, caption="x", skip_bad=True, progress=False)


def test_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CaptionedImageDataset(tmp_path / "nope", 32)


def test_source_folder_is_never_modified(copy, tmp_path):
    for make, _, _ in BAD_INPUTS.values():
        make(copy)
    Image.new("LA", (50, 50)).save(copy / "unlisted.png")
    before = _fingerprint(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CaptionedImageDataset(copy, 32, skip_bad=True, progress=False)
        CaptionedImageDataset(copy, 32, skip_bad=True, cache_dir=tmp_path / "cache", progress=False)
        CaptionedImageDataset(copy, 32, skip_bad=True, cache_dir=tmp_path / "cache", progress=False)
    folder.scan_folder(copy, resolution=32)
    assert _fingerprint(copy) == before


def test_disk_cache_skips_decoding_and_notices_changes(copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = CaptionedImageDataset(copy, 24, cache_dir=cache, progress=False)
    assert len(list(cache.glob("*.npz"))) == 1
    decoded = []
    real_open = folder.open_image
    monkeypatch.setattr(folder, "open_image", lambda *a, **k: decoded.append(a) or real_open(*a, **k))
    second = CaptionedImageDataset(copy, 24, cache_dir=cache, progress=False)
    assert decoded == [] and torch.equal(first.images, second.images) and first.records == second.records
    Image.new("RGB", (48, 48), "white").save(copy / "00003.png")  # the folder changed
    third = CaptionedImageDataset(copy, 24, cache_dir=cache, progress=False)
    assert len(decoded) == 6 and torch.all(third[3][0] == 1.0)


def test_cache_inside_the_source_folder_is_refused(copy):
    with pytest.raises(ValueError, match="inside the dataset folder"):
        CaptionedImageDataset(copy, 32, cache_dir=copy / ".cache", progress=False)


def test_unlisted_images_are_ignored_with_a_warning(copy):
    Image.new("RGB", (48, 48)).save(copy / "extra.png")
    with pytest.warns(UserWarning, match="not listed in metadata.jsonl"):
        assert len(CaptionedImageDataset(copy, 32, progress=False)) == 6
