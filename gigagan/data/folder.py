"""The on-disk dataset format: a folder of images with captions.

One format for procedural scenes, FLUX.1-schnell images and user data: the
Hugging Face ``imagefolder`` convention, so ``datasets.load_dataset("imagefolder",
data_dir=DIR)`` loads our folders too::

    DIR/00000.png
    DIR/00001.png
    DIR/metadata.jsonl      {"file_name": "00000.png", "text": "a red star on snow", "seed": 0, ...}

``file_name`` is relative to DIR (sub-folders allowed), ``text`` is the caption
and any other keys (seed, attributes) are kept as ground truth. Without a
``metadata.jsonl`` every image may have a sidecar caption (``cat.png`` +
``cat.txt``); ``caption=`` (CLI ``--caption "..."``) gives the caption of every
image that has none.

Reading: `collect_records` finds images and captions, `open_image` decodes one
image to RGB, `scan_folder` checks a whole folder and collects every bad input
as a `DataError` naming the file (and the metadata line) and what to do.
Nothing is ever written to a folder that is read.

Writing (for our generators): `prepare_output`, `check_resume`,
`MetadataWriter` and `save_image` make a folder that an interrupted run
continues without overwriting finished images: each image is written under a
temporary name and renamed, then its metadata line is appended and flushed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

METADATA_FILE = "metadata.jsonl"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
SKIP_HINT = "pass --skip-bad (skip_bad=True) to skip bad inputs instead"


# ---------------------------------------------------------------------------
# Errors: each names the file (and metadata line) and says what to do.
# ---------------------------------------------------------------------------


class DataError(ValueError):
    """Bad input in a dataset folder."""

    def __init__(self, message: str, file_name: str = "", line: int | None = None):
        super().__init__(message)
        self.file_name, self.line = file_name, line


class MetadataError(DataError):
    """A metadata.jsonl line that is not JSON, lacks file_name, or repeats one."""


class MissingImageError(DataError, FileNotFoundError):
    """A metadata entry whose image file does not exist."""


class BadImageError(DataError):
    """A file that is not an image, or a damaged or truncated one."""


class ImageTooSmallError(DataError):
    """An image smaller than the training resolution (never upscaled)."""


class MissingCaptionError(DataError):
    """An image without a caption."""


class EmptyFolderError(DataError):
    """A folder with no usable images."""


def problems_error(root: Path, problems: list[DataError]) -> DataError:
    """One error that lists every problem, of the class of the first one."""
    lines = [f"  {p}" for p in problems[:20]]
    if len(problems) > 20:
        lines.append(f"  ... and {len(problems) - 20} more (run `gigagan data check {root}` for all)")
    noun = "input" if len(problems) == 1 else "inputs"
    message = f"found {len(problems)} bad {noun} in {root}:\n" + "\n".join(lines) + f"\nfix them, or {SKIP_HINT}"
    error = type(problems[0])(message, problems[0].file_name, problems[0].line)
    error.problems = problems
    return error


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _check_root(root) -> Path:
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder: point to the folder that holds the images")
    return root


def list_images(root) -> list[str]:
    """Image files under ``root`` (recursive, hidden ones skipped), as sorted relative paths."""
    root = Path(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def read_metadata(path) -> tuple[list[tuple[int, dict]], list[DataError]]:
    """Parse metadata.jsonl: ``[(line_number, entry)]`` and the problems found."""
    entries, problems, seen = [], [], {}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            where = f"{METADATA_FILE} line {number}"
            try:
                text = raw.decode("utf-8").strip()
                entry = json.loads(text) if text else None
            except UnicodeDecodeError:
                message = f"{where}: not UTF-8 text; re-save the file as UTF-8"
                problems.append(MetadataError(message, METADATA_FILE, number))
                continue
            except json.JSONDecodeError as err:
                problems.append(
                    MetadataError(
                        f"{where}: not valid JSON ({err.msg} at column {err.colno}); fix or delete the line",
                        METADATA_FILE,
                        number,
                    )
                )
                continue
            if entry is None:
                continue
            name = entry.get("file_name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name:
                problems.append(
                    MetadataError(f'{where}: no "file_name" string; add one or delete the line', METADATA_FILE, number)
                )
            elif name in seen:
                problems.append(
                    MetadataError(
                        f"{where}: {name} is already listed on line {seen[name]}; delete one of the lines",
                        name,
                        number,
                    )
                )
            else:
                seen[name] = number
                entries.append((number, entry))
    return entries, problems


def _safe_relative(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return bool(parts) and not PurePosixPath(name).is_absolute() and ".." not in parts


def _sidecar_caption(root: Path, name: str) -> str | None:
    path = (root / name).with_suffix(".txt")
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        return text or None
    return None


@dataclass
class Records:
    """What `collect_records` found: usable entries, problems, and where captions came from."""

    records: list[dict]
    problems: list[DataError]
    caption_sources: Counter = field(default_factory=Counter)
    unlisted: list[str] = field(default_factory=list)


def collect_records(root, caption: str | None = None) -> Records:
    """Find the images of a folder and their captions (cheap: no image is decoded).

    Captions come from ``metadata.jsonl`` (``text``), else a sidecar ``.txt``,
    else ``caption``. Raises `EmptyFolderError` when there is nothing to read and
    `MissingCaptionError` when no image has any caption; other problems (bad
    metadata lines, missing files, images without a caption) are returned.
    """
    root = _check_root(root)
    images = list_images(root)
    metadata = root / METADATA_FILE
    if metadata.is_file():
        entries, problems = read_metadata(metadata)
        listed = {e["file_name"] for _, e in entries}
        unlisted = [f for f in images if f not in listed]
    else:
        entries, problems, unlisted = [(None, {"file_name": f}) for f in images], [], []
    if not entries and not problems:
        raise EmptyFolderError(
            f"{root} holds no images ({', '.join(IMAGE_EXTENSIONS)}) and no {METADATA_FILE} entries; "
            "point to a folder of captioned images, or make one with `gigagan data procedural --out DIR`",
            str(root),
        )
    if not metadata.is_file() and caption is None and not any(_sidecar_caption(root, f) for f in images):
        raise MissingCaptionError(
            f"{root} has {len(images)} image{'s' * (len(images) != 1)} but no captions: add a {METADATA_FILE} "
            '(one {"file_name": ..., "text": ...} per line), a sidecar .txt per image, '
            'or pass --caption "..." to use one caption for all',
            str(root),
        )
    result = Records([], problems, Counter(), unlisted)
    for line, entry in entries:
        name = entry["file_name"]
        where = f"{name} ({METADATA_FILE} line {line})" if line else name
        if not _safe_relative(name):
            result.problems.append(
                MetadataError(f"{where}: file_name must be a path inside the folder; fix the line", name, line)
            )
            continue
        if not (root / name).is_file():
            result.problems.append(
                MissingImageError(
                    f"{where}: file does not exist; restore it or delete its line from {METADATA_FILE}", name, line
                )
            )
            continue
        text, source = entry.get("text"), METADATA_FILE
        if not isinstance(text, str) or not text.strip():
            text, source = _sidecar_caption(root, name), "sidecar .txt"
        if text is None:
            text, source = caption, "--caption"
        if text is None:
            result.problems.append(
                MissingCaptionError(
                    f'{where}: no caption; add "text" to its metadata line or a sidecar '
                    f'{PurePosixPath(name).with_suffix(".txt")}, or pass --caption "..."',
                    name,
                    line,
                )
            )
            continue
        result.caption_sources[source] += 1
        result.records.append({**entry, "text": text})
    return result


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB version of any image; transparent parts become white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode.startswith("I;16"):
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def open_image(path, name: str | None = None, min_size: int | None = None) -> Image.Image:
    """Decode an image fully and return it as RGB (EXIF rotation applied).

    Raises `BadImageError` for non-images and damaged or truncated files, and
    `ImageTooSmallError` when the shorter side is below ``min_size``.
    """
    name = name or str(path)
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            mode = image.mode
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise BadImageError(
            f"{name}: not an image (Pillow cannot read this file); delete it or replace it with an image", name
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        raise BadImageError(f"{name}: damaged or truncated image ({err}); replace or re-export it", name) from None
    width, height = image.size
    if min_size and min(width, height) < min_size:
        raise ImageTooSmallError(
            f"{name}: image is {width}x{height}, smaller than the training resolution {min_size} "
            f"(images are never upscaled); use images of at least {min_size} px, a training resolution of "
            f"{min(width, height)} or lower, or pass --skip-bad to skip small images",
            name,
        )
    image = to_rgb(image)
    image.info["source_mode"] = mode
    return image


@dataclass
class Scan:
    """The result of `scan_folder`."""

    root: Path
    records: list[dict]  # good images, metadata plus "text"
    outputs: list  # transform(image) for each good image (None without a transform)
    problems: list[DataError]
    caption_sources: Counter
    unlisted: list[str]
    sizes: list[tuple[int, int]]
    modes: Counter


def scan_folder(root, caption=None, resolution=None, transform=None, progress=False) -> Scan:
    """Check every image of a folder: metadata, files, captions, decoding, size.

    ``transform(rgb_image)`` is applied to each good image and its results are
    returned in ``Scan.outputs`` (the dataset uses it to resize and cache, so
    each image is decoded once). Problems are collected, not raised.
    """
    root = _check_root(root)
    found = collect_records(root, caption)
    scan = Scan(root, [], [], list(found.problems), found.caption_sources, found.unlisted, [], Counter())
    for record in tqdm(found.records, desc=f"checking {root.name}", unit="img", disable=not progress, leave=False):
        try:
            image = open_image(root / record["file_name"], record["file_name"], resolution)
        except DataError as err:
            scan.problems.append(err)
            continue
        scan.records.append(record)
        scan.outputs.append(transform(image) if transform else None)
        scan.sizes.append(image.size)
        scan.modes[image.info["source_mode"]] += 1
    return scan


# ---------------------------------------------------------------------------
# Writing (our generators only; never used on a folder being read)
# ---------------------------------------------------------------------------


def prepare_output(out) -> dict[str, dict]:
    """Make ``out`` ready for a (resumed) run; return its finished records by file name.

    Removes our leftover temporary files and a partial last metadata line from
    an interrupted run; the images and lines before it are kept as they are.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):
        stale.unlink()
    path = out / METADATA_FILE
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with open(path, "r+b") as f:
            f.truncate(len(data))
    entries, problems = read_metadata(path)
    if problems:
        raise ValueError(
            f"{path} is damaged ({problems[0]}); this folder was edited or not made by gigagan: "
            "fix the line, or use another --out"
        )
    return {e["file_name"]: e for _, e in entries}


def check_resume(out: Path, done: dict, planned: list[dict], keys, size: int) -> None:
    """Refuse to continue a folder made with other settings (seed, split, size...)."""
    by_name = {r["file_name"]: r for r in planned}
    for name, old in done.items():
        new = by_name.get(name)
        for key in keys if new else ():
            if old.get(key) != new[key]:
                raise FileExistsError(
                    f"{out} already holds {name} made with {key}={old.get(key)!r}, not {new[key]!r}; "
                    "rerun with the same settings to resume, or use another --out"
                )
    for record in planned:
        path = out / record["file_name"]
        if path.exists():
            with Image.open(path) as image:
                if image.size != (size, size):
                    raise FileExistsError(
                        f"{out} already holds {record['file_name']} at {image.size[0]}x{image.size[1]}, "
                        f"not {size}x{size}; rerun with --size {image.size[0]} to resume, or use another --out"
                    )
            return


def save_image(image: Image.Image, path: Path) -> None:
    """Write ``image`` to ``path`` atomically: a temporary file, then a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fmt = Image.registered_extensions()[path.suffix.lower()]
    image.save(tmp, format=fmt, **({"compress_level": 1} if fmt == "PNG" else {}))  # fast, ~20% larger
    os.replace(tmp, path)


class MetadataWriter:
    """Appends one metadata.jsonl line per finished image, flushed at once."""

    def __init__(self, out: Path, done: dict[str, dict]):
        self.out, self.done = Path(out), done

    def __enter__(self):
        self.file = open(self.out / METADATA_FILE, "a", encoding="utf-8")
        return self

    def __exit__(self, *exc):
        self.file.close()

    def add(self, record: dict) -> None:
        """Append ``record`` unless its file already has a line."""
        if record["file_name"] in self.done:
            return
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()
        self.done[record["file_name"]] = record

    def add_finished(self, records: list[dict]) -> None:
        """Add the lines of images already on disk (an interrupted run wrote them last)."""
        for record in records:
            if (self.out / record["file_name"]).exists():
                self.add(record)


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar over images (shown only when enabled)."""
    return tqdm(total=total, desc=desc, unit="img", disable=not enabled)
