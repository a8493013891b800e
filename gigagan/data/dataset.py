"""`CaptionedImageDataset`: a folder of captioned images as PyTorch tensors.

    >>> ds = CaptionedImageDataset("data/scenes", resolution=32)
    >>> image, text = ds[0]          # float32 [3, 32, 32] in [-1, 1], 'a red star on snow'

The constructor checks the whole folder (metadata, files, captions, every image
decoded) so bad input fails before training starts, then keeps every image
resized to the training resolution as uint8 in memory: after construction an
epoch decodes no image. Images are centre-cropped to a square and resized with
LANCZOS; grayscale, palette and RGBA images become RGB (transparency on white).
An image smaller than the resolution is bad input, never upscaled: train at a
lower resolution, or pass ``skip_bad=True`` to skip it.

With ``cache_dir`` the resized images are also kept on disk (in a folder
outside the dataset, keyed by the folder's files, sizes and modification
times), so the next run starts without decoding. The source folder is only
ever read.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gigagan.data import folder

CACHE_VERSION = 1


def resize_square(image: Image.Image, resolution: int) -> np.ndarray:
    """Centre-crop ``image`` to a square, resize with LANCZOS: uint8 [3, R, R]."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    if (width, height) != (side, side):
        image = image.crop((left, top, left + side, top + side))
    if side != resolution:
        image = image.resize((resolution, resolution), Image.LANCZOS)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()


class CaptionedImageDataset(torch.utils.data.Dataset):
    """Images and captions from a folder; ``ds[i]`` is ``(image, text)``.

    Args:
        root: folder with images and ``metadata.jsonl`` (or sidecar ``.txt``
            captions, or ``caption``).
        resolution: side of the square training images.
        caption: caption for images that have none.
        skip_bad: skip bad inputs (listed in ``ds.skipped``) instead of raising.
        cache_dir: optional folder, outside ``root``, for an on-disk cache.
        progress: show a progress bar while checking and resizing.

    Attributes:
        records: one metadata dict per image (``file_name``, ``text``, attributes).
        skipped: ``(file_name, reason)`` for each skipped bad input.
        images: uint8 tensor [N, 3, R, R], the cache.

    Raises:
        folder.DataError (a ValueError; `MissingImageError` is also a
        FileNotFoundError) listing every bad input, unless ``skip_bad``.
    """

    def __init__(
        self,
        root,
        resolution: int,
        caption: str | None = None,
        skip_bad: bool = False,
        cache_dir=None,
        progress: bool = True,
    ):
        self.root, self.resolution = Path(root), int(resolution)
        if self.resolution < 4:
            raise ValueError(f"resolution must be at least 4 pixels, got {resolution}")
        found = folder.collect_records(self.root, caption)
        cache = self._cache_path(cache_dir, found, caption) if cache_dir else None
        loaded = _load_cache(cache) if cache and cache.exists() else None
        if loaded is None:
            resize = lambda image: resize_square(image, self.resolution)
            scan = folder.scan_folder(self.root, caption, self.resolution, resize, progress)
            empty = np.zeros((0, 3, self.resolution, self.resolution), np.uint8)
            loaded = (np.stack(scan.outputs) if scan.outputs else empty), scan.records, scan.problems
            if cache and (skip_bad or not scan.problems):
                _save_cache(cache, *loaded)
        images, self.records, problems = loaded
        if problems and not skip_bad:
            raise folder.problems_error(self.root, problems)
        if not self.records:
            raise folder.EmptyFolderError(
                f"no usable images in {self.root}: all {len(problems)} inputs were bad and skipped; "
                f"the first: {problems[0]}",
                str(self.root),
            )
        self.skipped = [(p.file_name, str(p)) for p in problems]
        if self.skipped:
            warnings.warn(f"skipped {len(self.skipped)} bad inputs in {self.root} (listed in .skipped)", stacklevel=2)
        if found.unlisted:
            warnings.warn(
                f"{len(found.unlisted)} images in {self.root} are not listed in {folder.METADATA_FILE} "
                f"and are ignored, e.g. {found.unlisted[0]}",
                stacklevel=2,
            )
        self.images = torch.from_numpy(images)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        image = self.images[index].float().div_(127.5).sub_(1.0)
        return image, self.records[index]["text"]

    def _cache_path(self, cache_dir, found: folder.Records, caption) -> Path:
        cache_dir, root = Path(cache_dir).resolve(), self.root.resolve()
        if cache_dir == root or root in cache_dir.parents:
            raise ValueError(
                f"cache_dir {cache_dir} is inside the dataset folder {root}, which is never written to; "
                "choose a cache folder outside it"
            )
        stats = []
        for record in found.records:
            st = (root / record["file_name"]).stat()
            stats.append([st.st_size, st.st_mtime_ns])
        problems = [str(p) for p in found.problems]
        key = json.dumps([CACHE_VERSION, str(root), self.resolution, caption, found.records, stats, problems])
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return cache_dir / f"{root.name}-{self.resolution}px-{digest}.npz"


def _save_cache(path: Path, images: np.ndarray, records: list, problems: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    problems = [[type(p).__name__, str(p), p.file_name, p.line] for p in problems]
    meta = json.dumps({"records": records, "problems": problems})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, images=images, meta=np.array(meta))
    os.replace(tmp, path)


def _load_cache(path: Path):
    try:
        with np.load(path) as data:
            images, meta = data["images"], json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is rebuilt
    problems = [getattr(folder, kind)(message, name, line) for kind, message, name, line in meta["problems"]]
    return images, meta["records"], problems
