"""Shared state for the book's executable chapters.

The chapters share one folder (``_build/book_run`` next to ``_config.yml``, or
``$GIGAGAN_BOOK_DIR``) and each one rebuilds what it needs and is missing, so any chapter
also runs alone. On a machine with a CUDA GPU the chapters switch to the ``shepherd``
preset (and to FLUX.1-schnell data when its weights are in the Hugging Face cache); on a
CPU they use the ``tiny`` preset and procedural scenes, on a minutes budget.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


def _root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    return here


def flux_weights_available() -> bool:
    """True when FLUX.1-schnell is in the local Hugging Face cache (nothing is downloaded)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download("black-forest-labs/FLUX.1-schnell", local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available offline"
        return False


@dataclass
class BookSettings:
    folder: Path
    device: str
    preset: str
    data_source: str
    n_images: int
    resolution: int
    minutes: float

    @property
    def data_dir(self) -> Path:
        return self.folder / f"data-{self.data_source}-{self.resolution}"

    @property
    def run_dir(self) -> Path:
        return Path(os.environ["GIGAGAN_BOOK_RUN"]) if os.environ.get("GIGAGAN_BOOK_RUN") else \
            self.folder / f"run-{self.preset}"

    def describe(self) -> str:
        where = "a CUDA GPU" if self.device == "cuda" else "the CPU"
        source = ("FLUX.1-schnell (weights found in the local Hugging Face cache)" if self.data_source == "flux"
                  else "procedural captioned scenes (numpy + PIL)")
        return (f"This build runs on {where}: preset `{self.preset}`, data from {source}, "
                f"{self.n_images} images at {self.resolution} px, a training budget of {self.minutes:g} minutes. "
                f"Shared folder: `{self.folder}`.")


def settings() -> BookSettings:
    import torch

    from gigagan.presets import get_preset

    gpu = torch.cuda.is_available()
    preset = os.environ.get("GIGAGAN_BOOK_PRESET", "shepherd" if gpu else "tiny")
    source = "flux" if gpu and flux_weights_available() else "procedural"
    folder = Path(os.environ.get("GIGAGAN_BOOK_DIR", _root() / "_build" / "book_run"))
    default_n = 5000 if gpu else 4000
    return BookSettings(folder=folder, device="cuda" if gpu else "cpu", preset=preset, data_source=source,
                        n_images=int(os.environ.get("GIGAGAN_BOOK_IMAGES", default_n)),
                        resolution=get_preset(preset)["resolution"],
                        minutes=float(os.environ.get("GIGAGAN_BOOK_MINUTES", 120 if gpu else 10)))


def ensure_dataset(s: BookSettings | None = None) -> Path:
    """The chapters' dataset: generated once, then reused (generation is resumable)."""
    s = s or settings()
    if s.data_source == "flux":
        from gigagan.data import flux

        flux.generate(s.data_dir, s.n_images, size=256)
    else:
        from gigagan.data import procedural

        procedural.write_folder(s.data_dir, s.n_images, s.resolution, seed=0, progress=False)
    return s.data_dir


def run_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / "progress.gif").is_file() and (Path(run_dir) / "DONE").is_file()


def ensure_run(s: BookSettings | None = None, log=print) -> Path:
    """The chapters' training run: trained once on the budget, resumed if it was interrupted."""
    from gigagan.training import TrainConfig, Trainer

    s = s or settings()
    run = s.run_dir
    if run_finished(run):
        return run
    data = ensure_dataset(s)
    if (run / "config.json").is_file():
        saved = json.loads((run / "config.json").read_text())["train"]
        trainer = Trainer(TrainConfig(**dict(saved, progress=False)), log=log)
        trainer.resume()
    else:
        cfg = TrainConfig(preset=s.preset, data=str(data), out=str(run), max_minutes=s.minutes,
                          snapshot_every=1 if s.device == "cpu" else None, log_every=20, progress=False,
                          epochs=1000 if s.device == "cpu" else None)
        trainer = Trainer(cfg, log=log)
    trainer.fit()
    (run / "DONE").write_text(json.dumps({"steps": trainer.step, "images": trainer.images_seen}))
    return run


def ensure_pipeline(s: BookSettings | None = None):
    """The trained run as a ``GigaGANPipeline`` (EMA weights of the newest checkpoint)."""
    from gigagan.training.export import pipeline_from_run

    return pipeline_from_run(ensure_run(s))


def compare_minutes() -> float:
    """Training minutes of each model in the "measured" chapter (``$GIGAGAN_BOOK_COMPARE_MINUTES``, default 2)."""
    return float(os.environ.get("GIGAGAN_BOOK_COMPARE_MINUTES", 2))


def ensure_comparison(s: BookSettings | None = None, minutes: float | None = None, n_eval: int = 64) -> dict:
    """GAN versus diffusion on procedural 32 px scenes, the same minutes each; run once, then read back.

    Returns ``{"rows": [...], "images": {model: tensor}, "prompts": [...], "minutes": m}``.
    """
    from safetensors.torch import load_file, save_file

    from gigagan import compare
    from gigagan.data import procedural

    s = s or settings()
    minutes = compare_minutes() if minutes is None else minutes
    folder = s.folder / f"compare-{minutes:g}min-n{n_eval}"
    results, images = folder / "results.json", folder / "images.safetensors"
    if results.is_file() and images.is_file():
        saved = json.loads(results.read_text())
        return dict(saved, images=load_file(str(images)))
    same_data = s.data_source == "procedural" and s.resolution == 32
    data = s.data_dir if same_data else s.folder / "data-procedural-32-compare"
    procedural.write_folder(data, s.n_images if same_data else 4000, 32, seed=0, progress=False)
    out = compare.gan_versus_diffusion(data, folder, minutes=minutes, n_eval=n_eval)
    save_file({k: v.contiguous() for k, v in out["images"].items()}, str(images))
    results.write_text(json.dumps({"rows": out["rows"], "prompts": out["prompts"], "minutes": minutes}, indent=2))
    return dict(out, minutes=minutes)


def committed_benchmark(name: str) -> dict | None:
    """A committed benchmark result (``benchmarks/results/NAME.json``), or None when it is not there."""
    path = _root() / "benchmarks" / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
