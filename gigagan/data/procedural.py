"""Procedural captioned scenes: one coloured shape on a textured background.

The CPU stand-in for a photo dataset. Every image is a pure function of
``(seed, index)`` (and the split), renders at any resolution, and comes with a
caption and its attributes as ground truth, so text alignment can be measured
honestly without a pretrained model::

    >>> image, text, attrs = make_sample(seed=0, index=7, size=64)
    >>> text                                   # e.g. 'a red star on snow'
    >>> attrs                                  # {'color': 'red', 'shape': 'star', ...}

Design, chosen so that a tiny GAN can learn the scenes in minutes at 32x32:

* one fairly large object per image, in one of 8 saturated, distinct colours,
  with a dark outline and a soft shadow so it stands out on every background;
* 8 backgrounds with clearly different mean colours and a mild texture
  (grass, snow, brick, sand, water, sky, night, wood), echoing the variety of
  the original dog photos (parks, snow, cities, beaches...);
* shapes are drawn from their outlines with analytic anti-aliasing (coverage
  from the signed distance to each edge), vectorised over a batch with numpy;
* a held-out set of (colour, shape) pairs never appears in the training split,
  for a compositional test (`HELDOUT_COMBINATIONS`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gigagan.data import folder

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

COLORS = {
    "red": (225, 30, 35),
    "orange": (250, 135, 10),
    "yellow": (250, 222, 20),
    "green": (40, 195, 55),
    "cyan": (20, 215, 225),
    "blue": (35, 75, 235),
    "purple": (140, 50, 210),
    "pink": (250, 105, 190),
}
SHAPES = ["circle", "square", "triangle", "diamond", "star", "hexagon", "cross", "heart"]
BACKGROUNDS = ["grass", "snow", "brick", "sand", "water", "sky", "night", "wood"]
SIZES = ["small", "large"]
POSITIONS = ["left", "center", "right"]

# One pair per colour and per shape, so every colour and every shape is still
# seen in training, just never together in these combinations.
HELDOUT_COMBINATIONS = {
    ("red", "triangle"),
    ("orange", "heart"),
    ("yellow", "square"),
    ("green", "star"),
    ("cyan", "cross"),
    ("blue", "circle"),
    ("purple", "hexagon"),
    ("pink", "diamond"),
}
TRAIN_COMBINATIONS = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in HELDOUT_COMBINATIONS]
SPLITS = ("train", "heldout")

# Radius of the object (fraction of the image side), centre of each position.
_RADIUS = {"small": 0.19, "large": 0.27}
_CENTER_X = {"left": 0.32, "center": 0.5, "right": 0.68}

# Independent random streams drawn from (seed, index).
_ATTR_STREAM, _JITTER_STREAM, _CAPTION_STREAM = 0, 1, 2


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng([seed, index, stream])


# ---------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------


def sample_attributes(seed: int, index: int, split: str = "train") -> dict:
    """The attributes of image ``index`` of the scenes drawn with ``seed``.

    Returns ``{"color", "shape", "background", "size", "position"}``. The
    training split draws (colour, shape) uniformly from the 56 training pairs
    and never yields a held-out pair; ``split="heldout"`` draws only from
    `HELDOUT_COMBINATIONS`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    pairs = TRAIN_COMBINATIONS if split == "train" else sorted(HELDOUT_COMBINATIONS)
    rng = _rng(seed, index, _ATTR_STREAM + 10 * SPLITS.index(split))
    color, shape = pairs[rng.integers(len(pairs))]
    return {
        "color": color,
        "shape": shape,
        "background": BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
        "size": SIZES[rng.integers(len(SIZES))],
        "position": POSITIONS[rng.integers(len(POSITIONS))],
    }


def is_heldout(attrs: dict) -> bool:
    """True when the (colour, shape) pair of ``attrs`` is held out of training."""
    return (attrs["color"], attrs["shape"]) in HELDOUT_COMBINATIONS


# ---------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------

# How each background is named: "on" and "in" finish a sentence, "scene" starts one.
BACKGROUND_PHRASES = {
    "grass": {"on": "on grass", "in": "in a park", "scene": "a grassy park"},
    "snow": {"on": "on snow", "in": "in the snow", "scene": "a snowy field"},
    "brick": {"on": "on a brick wall", "in": "in the city", "scene": "a brick wall in the city"},
    "sand": {"on": "on sand", "in": "on a beach", "scene": "a sandy beach"},
    "water": {"on": "on water", "in": "on a lake", "scene": "calm water"},
    "sky": {"on": "in the sky", "in": "against the sky", "scene": "a cloudy sky"},
    "night": {"on": "at night", "in": "in the night", "scene": "a starry night"},
    "wood": {"on": "on wood", "in": "on a wooden floor", "scene": "a wooden floor"},
}
POSITION_PHRASES = {"left": "on the left", "center": "in the middle", "right": "on the right"}

TEMPLATES = [
    "a {color} {shape} {on}",
    "a photo of a {size} {color} {shape} {in}",
    "a {size} {color} {shape} {where}, {in}",
    "{scene} with a {color} {shape}",
    "there is a {color} {shape} {where} {in}",
    "a {color} {shape}, {size}, {on}",
]
CANONICAL_TEMPLATE = "a {size} {color} {shape} {on}"

# Words that name a background in any template; "night" is tested before "sky".
_BACKGROUND_KEYWORDS = {
    "night": ["night"],
    "grass": ["grass", "park"],
    "snow": ["snow"],
    "brick": ["brick", "city"],
    "sand": ["sand", "beach"],
    "water": ["water", "lake"],
    "sky": ["sky"],
    "wood": ["wood"],
}
_POSITION_WORDS = {"left": "left", "middle": "center", "right": "right"}


def caption(attrs: dict, template: int | str | None = None, seed: int = 0, index: int = 0) -> str:
    """A caption for ``attrs``.

    ``template`` is an index into `TEMPLATES`, a format string with the fields
    ``color, shape, size, on, in, scene, where``, or None to pick one of
    `TEMPLATES` from ``(seed, index)``.
    """
    if template is None:
        template = int(_rng(seed, index, _CAPTION_STREAM).integers(len(TEMPLATES)))
    if isinstance(template, int):
        template = TEMPLATES[template]
    fields = dict(BACKGROUND_PHRASES[attrs["background"]])
    fields.update(
        color=attrs["color"],
        shape=attrs["shape"],
        size=attrs["size"],
        where=POSITION_PHRASES[attrs["position"]],
    )
    return re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", template.format(**fields))


def canonical_caption(attrs: dict) -> str:
    """The one fixed caption for ``attrs`` (used for evaluation prompts)."""
    return caption(attrs, CANONICAL_TEMPLATE)


def parse_caption(text: str) -> dict:
    """Recover the attributes named in a caption (any template).

    Returns only the keys it finds among color, shape, background, size and
    position.
    """
    words = re.findall(r"[a-z]+", text.lower())
    found = {}
    for key, vocab in (("color", COLORS), ("shape", SHAPES), ("size", SIZES)):
        hits = [w for w in words if w in vocab]
        if hits:
            found[key] = hits[0]
    for word in words:
        if word in _POSITION_WORDS:
            found["position"] = _POSITION_WORDS[word]
    lowered = text.lower()
    for name, keywords in _BACKGROUND_KEYWORDS.items():
        if any(k in lowered for k in keywords):
            found["background"] = name
            break
    return found


# ---------------------------------------------------------------------------
# Shapes: each is a union of pieces, a convex polygon or a circle, in unit
# coordinates (y up, radius about 1). Pieces of one shape do not overlap
# except for the heart, so their coverages add up without seams.
# ---------------------------------------------------------------------------


def _regular(n: int, radius: float, start_deg: float) -> list[tuple[float, float]]:
    angles = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return [(radius * np.cos(a), radius * np.sin(a)) for a in angles]


def _star_kites(points: int = 5, outer: float = 1.15, inner: float = 0.5) -> list:
    tips = _regular(points, outer, 90)
    dents = _regular(points, inner, 90 + 180 / points)
    return [("poly", [(0.0, 0.0), dents[k - 1], tips[k], dents[k]]) for k in range(points)]


def _box(x0, y0, x1, y1):
    return ("poly", [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def _heart(h: float = 0.95, c: float = -0.098) -> list:
    r = h / np.sqrt(2)
    return [
        ("poly", [(0.0, c - h), (h, c), (0.0, c + h), (-h, c)]),
        ("circle", (-h / 2, c + h / 2), r),
        ("circle", (h / 2, c + h / 2), r),
    ]


_PIECES = {
    "circle": [("circle", (0.0, 0.0), 1.0)],
    "square": [_box(-0.86, -0.86, 0.86, 0.86)],
    "triangle": [("poly", [(0.0, 1.1), (-1.15, -0.9), (1.15, -0.9)])],
    "diamond": [("poly", [(0.0, -1.15), (0.78, 0.0), (0.0, 1.15), (-0.78, 0.0)])],
    "star": _star_kites(),
    "hexagon": [("poly", _regular(6, 1.02, 0))],
    "cross": [_box(-0.34, -1.0, 0.34, 1.0), _box(-1.0, -0.34, -0.34, 0.34), _box(0.34, -0.34, 1.0, 0.34)],
    "heart": _heart(),
}


@lru_cache(maxsize=None)
def _halfplanes(vertices: tuple) -> list[tuple[float, float, float]]:
    """Outward unit normals and offsets (nx, ny, h) of a counter-clockwise convex polygon."""
    v = np.asarray(vertices, dtype=np.float64)
    (ax, ay), (bx, by) = v[1] - v[0], v[2] - v[1]
    if ax * by - ay * bx < 0:  # make it counter-clockwise
        v = v[::-1]
    planes = []
    for a, b in zip(v, np.roll(v, -1, axis=0)):
        ex, ey = b - a
        n = np.array([ey, -ex]) / np.hypot(ex, ey)
        planes.append((float(n[0]), float(n[1]), float(n @ a)))
    return planes


def _coverage(shape: str, qx, qy, k, r_px):
    """Pixel coverage in [0, 1] of ``shape`` scaled by ``k`` (object coordinates qx, qy).

    ``r_px`` converts unit distances to pixels; a pixel whose centre lies at
    signed distance d (pixels) from an edge is covered ``clip(0.5 - d)``.
    """
    total = np.zeros(np.broadcast_shapes(qx.shape, qy.shape), dtype=np.float32)
    for piece in _PIECES[shape]:
        if piece[0] == "circle":
            (cx, cy), r = piece[1], piece[2]
            d = np.hypot(qx - k * cx, qy - k * cy) - k * r
        else:
            d = None
            for nx, ny, h in _halfplanes(tuple(map(tuple, piece[1]))):
                e = nx * qx + ny * qy - k * h
                d = e if d is None else np.maximum(d, e, out=d)
        total += np.clip(0.5 - d * r_px, 0.0, 1.0)
    return np.minimum(total, 1.0, out=total)


# ---------------------------------------------------------------------------
# Backgrounds: one texture tile per (background, size), two image sides wide;
# each image shows a jittered crop of it. Tiles are drawn at 512 px or more and
# resized, so a scene looks the same at every resolution.
# ---------------------------------------------------------------------------


def _noise(rng, size: int, cells_x: int, cells_y: int | None = None) -> np.ndarray:
    """Smooth value noise in about [-1, 1]: a random grid upsampled bicubically."""
    grid = rng.uniform(-1, 1, size=(cells_y or cells_x, cells_x)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, mode="F").resize((size, size), Image.BICUBIC))


def _gradient(size: int, top, bottom) -> np.ndarray:
    t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    return (1 - t) * np.float32(top) + t * np.float32(bottom) + np.zeros((1, size, 3), np.float32)


def _tex_grass(rng, T):
    lum = 22 * _noise(rng, T, 192, 20) + 12 * _noise(rng, T, 6) + 6 * _noise(rng, T, 256)
    return np.float32([62, 128, 48]) + lum[..., None] * np.float32([0.6, 1.0, 0.45])


def _tex_snow(rng, T):
    drift = _noise(rng, T, 5)[..., None] * np.float32([-12, -8, -2])
    sparkle = (rng.random((T, T)) > 0.997).astype(np.float32)[..., None] * 14
    return np.float32([236, 240, 248]) + drift + 3 * _noise(rng, T, 128)[..., None] + sparkle


def _tex_brick(rng, T):
    rows, h = 16, T / 16
    y, x = np.mgrid[0:T, 0:T].astype(np.float32) + 0.5
    row = np.floor(y / h).astype(int)
    u = (x + (row % 2) * h) / (2 * h)
    col = np.floor(u).astype(int)
    shade = rng.uniform(-1, 1, size=(rows, int(u.max()) + 2))[row, col]
    brick = np.float32([140, 44, 34]) + (14 * shade + 6 * _noise(rng, T, 128))[..., None]
    mortar = ((y % h) / h < 0.11) | (u % 1 < 0.055)
    return np.where(mortar[..., None], np.float32([172, 166, 156]), brick)


def _tex_sand(rng, T):
    y, x = np.mgrid[0:T, 0:T].astype(np.float32) / T
    ripples = np.sin(2 * np.pi * (18 * y + 4 * x + 0.6 * _noise(rng, T, 4)))
    grain = rng.normal(0, 1, size=(T, T)).astype(np.float32)
    return np.float32([222, 196, 140]) + (8 * ripples + 5 * grain)[..., None]


def _tex_water(rng, T):
    y = np.mgrid[0:T, 0:T][0].astype(np.float32) / T
    waves = np.sin(2 * np.pi * (22 * y + 0.8 * _noise(rng, T, 6, 3)))
    glint = np.clip((waves - 0.7) / 0.3, 0, 1) * (0.6 + 0.4 * _noise(rng, T, 24, 8))
    base = _gradient(T, (38, 112, 162), (20, 78, 128))
    return base + glint[..., None] * np.float32([55, 65, 65]) + 5 * _noise(rng, T, 8)[..., None]


def _tex_sky(rng, T):
    cloud = _noise(rng, T, 3) + 0.5 * _noise(rng, T, 7) + 0.25 * _noise(rng, T, 14)
    cover = (np.clip((cloud - 0.45) * 2.0, 0, 1) * 0.8)[..., None]
    return _gradient(T, (92, 148, 222), (165, 205, 242)) * (1 - cover) + 245 * cover


def _tex_night(rng, T):
    stars = rng.random((T // 2, T // 2)) > 0.996
    glow = stars * rng.uniform(120, 255, size=stars.shape)
    glow = np.repeat(np.repeat(glow, 2, axis=0), 2, axis=1).astype(np.float32)
    base = _gradient(T, (8, 12, 34), (26, 30, 70)) + 4 * _noise(rng, T, 6)[..., None]
    return np.maximum(base, glow[..., None] * np.float32([1.0, 1.0, 0.9]))


def _tex_wood(rng, T):
    y = np.mgrid[0:T, 0:T][0].astype(np.float32)
    plank = np.floor(y / (T / 8)).astype(int)
    grain = np.sin(2 * np.pi * (48 * y / T + 1.5 * _noise(rng, T, 4, 16)))
    shade = rng.uniform(-1, 1, size=8)[plank]
    wood = np.float32([194, 142, 82]) + (12 * grain + 14 * shade)[..., None] * np.float32([1, 0.85, 0.7])
    seam = ((y % (T / 8)) / (T / 8) < 0.04)[..., None]
    return np.where(seam, wood * 0.55, wood)


_TEXTURES = {
    "grass": _tex_grass,
    "snow": _tex_snow,
    "brick": _tex_brick,
    "sand": _tex_sand,
    "water": _tex_water,
    "sky": _tex_sky,
    "night": _tex_night,
    "wood": _tex_wood,
}


@lru_cache(maxsize=64)
def _texture(name: str, size: int) -> np.ndarray:
    """The (2*size, 2*size, 3) float32 texture tile of background ``name``."""
    T = max(512, 2 * size)
    rng = np.random.default_rng([BACKGROUNDS.index(name), 12345])
    tile = np.clip(_TEXTURES[name](rng, T), 0, 255).astype(np.uint8)
    if T != 2 * size:
        tile = np.asarray(Image.fromarray(tile).resize((2 * size, 2 * size), Image.LANCZOS))
    tile = tile.astype(np.float32)
    tile.setflags(write=False)
    return tile


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def _jitter(attrs: dict, size: int, seed: int, index: int) -> dict:
    """Everything random about one image besides its attributes, from (seed, index)."""
    u = _rng(seed, index, _JITTER_STREAM).random(16)
    color = np.float32(COLORS[attrs["color"]]) * (0.94 + 0.12 * u[4]) + 20 * (u[5:8] - 0.5)
    return {
        "cx": _CENTER_X[attrs["position"]] + 0.08 * (u[0] - 0.5),
        "cy": 0.5 + 0.14 * (u[1] - 0.5),
        "r": _RADIUS[attrs["size"]] * (0.92 + 0.16 * u[2]),
        "angle": np.deg2rad(20 * (u[3] - 0.5)),
        "color": np.clip(color, 0, 255),
        "ox": int(u[8] * size),
        "oy": int(u[9] * size),
        "flip": u[10] < 0.5,
        "bg_gain": (0.92 + 0.16 * u[11]) * (0.97 + 0.06 * u[12:15]),
    }


def _backgrounds(attrs_list, jitters, size: int) -> np.ndarray:
    out = np.empty((len(attrs_list), size, size, 3), dtype=np.float32)
    for i, (attrs, j) in enumerate(zip(attrs_list, jitters)):
        crop = _texture(attrs["background"], size)[j["oy"] : j["oy"] + size, j["ox"] : j["ox"] + size]
        out[i] = (crop[:, ::-1] if j["flip"] else crop) * np.float32(j["bg_gain"])
    return out


def _draw_objects(images: np.ndarray, shape: str, jitters: list, size: int) -> None:
    """Draw one ``shape`` per image, in place: shadow, dark outline, shaded fill."""
    col = lambda key: np.array([j[key] for j in jitters], dtype=np.float32)[:, None, None]
    r_px, angle = col("r") * size, col("angle")
    pix = np.arange(size, dtype=np.float32) + 0.5
    dx = pix[None, None, :] - col("cx") * size
    dy = col("cy") * size - pix[None, :, None]
    cos, sin = np.cos(angle), np.sin(angle)
    qx = (cos * dx + sin * dy) / r_px
    qy = (cos * dy - sin * dx) / r_px
    outer = _coverage(shape, qx, qy, np.float32(1.0), r_px)
    width = max(0.8, size / 40)
    inner = _coverage(shape, qx, qy, (r_px - width) / r_px, r_px)

    off = max(1, round(0.03 * size))
    shadow = np.zeros_like(outer)
    shadow[:, off:, off:] = outer[:, :-off, :-off]
    images *= (1 - 0.3 * shadow)[..., None]

    fill = np.array([j["color"] for j in jitters], dtype=np.float32)[:, None, None, :]
    light = np.clip(1 + 0.1 * qy, 0.88, 1.1)[..., None]
    images += (0.35 * fill - images) * outer[..., None]
    images += (np.minimum(fill * light, 255) - images) * inner[..., None]


def render_batch(attrs_list: list[dict], size: int, seed: int = 0, indices=None) -> np.ndarray:
    """Render many scenes at once: a uint8 array of shape (N, size, size, 3).

    Image ``i`` shows ``attrs_list[i]`` with the jitter of ``(seed, indices[i])``
    (``indices`` defaults to 0..N-1). Identical to calling `render` per image.
    """
    if not 8 <= size <= 4096:
        raise ValueError(f"size must be between 8 and 4096 pixels, got {size}")
    indices = range(len(attrs_list)) if indices is None else list(indices)
    jitters = [_jitter(a, size, seed, i) for a, i in zip(attrs_list, indices)]
    images = _backgrounds(attrs_list, jitters, size)
    for shape in SHAPES:
        rows = [i for i, a in enumerate(attrs_list) if a["shape"] == shape]
        if rows:
            part = images[rows]
            _draw_objects(part, shape, [jitters[i] for i in rows], size)
            images[rows] = part
    return np.clip(images + 0.5, 0, 255).astype(np.uint8)


def render(attrs: dict, size: int, seed: int = 0, index: int = 0) -> Image.Image:
    """Render one scene as an RGB PIL image; jitter comes from ``(seed, index)``."""
    return Image.fromarray(render_batch([attrs], size, seed, [index])[0])


# ---------------------------------------------------------------------------
# Samples and folders
# ---------------------------------------------------------------------------


def make_batch(seed: int, indices, size: int, split: str = "train"):
    """Images (uint8 array N x size x size x 3), captions and attributes of ``indices``."""
    indices = list(indices)
    attrs = [sample_attributes(seed, i, split) for i in indices]
    texts = [caption(a, seed=seed, index=i) for a, i in zip(attrs, indices)]
    return render_batch(attrs, size, seed, indices), texts, attrs


def make_sample(seed: int, index: int, size: int, split: str = "train"):
    """One scene: ``(PIL image, caption, attributes)``."""
    images, texts, attrs = make_batch(seed, [index], size, split)
    return Image.fromarray(images[0]), texts[0], attrs[0]


def file_name(index: int) -> str:
    """The file name of image ``index`` in a written folder (``00042.png``)."""
    return f"{index:05d}.png"


def record(seed: int, index: int, split: str = "train") -> dict:
    """The metadata.jsonl line of image ``index``: file_name, text, seed, index, split, attributes."""
    attrs = sample_attributes(seed, index, split)
    return {
        "file_name": file_name(index),
        "text": caption(attrs, seed=seed, index=index),
        "seed": seed,
        "index": index,
        "split": split,
        **attrs,
    }


def write_folder(
    out_dir,
    n: int,
    size: int,
    seed: int = 0,
    split: str = "train",
    progress: bool = True,
    batch_size: int | None = None,
) -> Path:
    """Write ``n`` scenes as PNG files plus ``metadata.jsonl`` into ``out_dir``.

    Resumable and idempotent: finished images (and their metadata lines) are
    kept as they are; only what is missing is rendered. Refuses to mix scenes
    made with another seed, split or size into the same folder.
    """
    out = Path(out_dir)
    batch_size = batch_size or max(8, 2**22 // (size * size))  # about 50 MB of pixels per batch
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    done = folder.prepare_output(out)
    records = [record(seed, i, split) for i in range(n)]
    folder.check_resume(out, done, records, ("seed", "split"), size)
    todo = [i for i in range(n) if not (out / records[i]["file_name"]).exists()]
    with folder.MetadataWriter(out, done) as meta:
        meta.add_finished(records)
        chunks = [todo[k : k + batch_size] for k in range(0, len(todo), batch_size)]
        bar = folder.progress_bar(len(todo), "procedural", progress)
        for chunk in chunks:
            images = make_batch(seed, chunk, size, split)[0]
            for i, image in zip(chunk, images):
                folder.save_image(Image.fromarray(image), out / records[i]["file_name"])
                meta.add(records[i])
            bar.update(len(chunk))
        bar.close()
    return out


# ---------------------------------------------------------------------------
# Contact sheet
# ---------------------------------------------------------------------------


def _wrap(text: str, font, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines at most ``width`` pixels wide."""
    lines = []
    for word in text.split():
        if lines and font.getlength(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def contact_sheet(
    n: int = 32, size: int = 96, seed: int = 0, columns: int = 8, split: str = "train", colors: int = 256
) -> Image.Image:
    """A grid of ``n`` scenes with their captions under each, as one image.

    ``colors`` > 0 returns a palette image of that many colours, which keeps
    the PNG small; 0 returns the RGB sheet.
    """
    images, texts, _ = make_batch(seed, range(n), size, split)
    font = ImageFont.load_default(size=max(10, size // 8))
    lines = [_wrap(t, font, size) for t in texts]
    line_h = font.size + 2
    cell_h = size + 6 + line_h * max(len(l) for l in lines)
    rows = -(-n // columns)
    sheet = Image.new("RGB", (columns * (size + 10) + 10, rows * (cell_h + 8) + 8), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (image, caption_lines) in enumerate(zip(images, lines)):
        x, y = 10 + (k % columns) * (size + 10), 8 + (k // columns) * (cell_h + 8)
        sheet.paste(Image.fromarray(image), (x, y))
        for j, line in enumerate(caption_lines):
            draw.text((x, y + size + 4 + j * line_h), line, fill=(30, 30, 30), font=font)
    return sheet.quantize(colors, dither=Image.Dither.NONE) if colors else sheet
