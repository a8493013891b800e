"""From a run folder to a ``GigaGANPipeline``: the EMA generator and its text encoder."""

from __future__ import annotations

import json
from pathlib import Path

from gigagan.models import GigaGANGenerator, build_text_encoder
from gigagan.training import checkpoint as ckpt


def run_preset(run_dir: Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run folder (no config.json); "
                                "point to the --out folder of `gigagan train`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is damaged (not valid JSON: {err})") from err


def pipeline_from_run(run_dir: Path, checkpoint: Path | None = None):
    """``GigaGANPipeline`` with the EMA weights of the newest valid (or the given) checkpoint."""
    from transformers import CLIPTokenizer

    from gigagan.pipeline import GigaGANPipeline

    run_dir = Path(run_dir)
    preset = run_preset(run_dir)["preset"]
    path = Path(checkpoint) if checkpoint else ckpt.newest_valid_checkpoint(run_dir)
    if path is None:
        raise FileNotFoundError(f"{run_dir} has no valid checkpoint yet; train longer (checkpoints are "
                                "written every snapshot_every epochs and when a budget runs out)")
    # our own text encoders' weights travel in the checkpoint (the EMA copy when it was trained)
    files = ckpt.read_state(path)["files"]
    text_name = next((n for n in ("text_encoder_ema", "text_encoder") if n in files), None)
    from_hub = "pretrained" in preset["text_encoder"]
    if not from_hub and text_name is None:
        raise ckpt.CheckpointError(f"checkpoint {path} holds no text encoder weights; it was not written by "
                                   "this version of the gigagan trainer")
    encoder, tokenizer, _ = build_text_encoder(preset["text_encoder"], load_weights=from_hub)
    tensors, _ = ckpt.load_checkpoint(path, names=["G_ema"] + ([text_name] if text_name and not from_hub else []))
    generator = GigaGANGenerator(**preset["generator"])
    ckpt.load_state_dict_strict(generator, tensors["G_ema"], "G_ema")
    if text_name and not from_hub:
        ckpt.load_state_dict_strict(encoder, tensors[text_name], "text encoder")
    if (run_dir / "tokenizer").is_dir():
        tokenizer = CLIPTokenizer.from_pretrained(run_dir / "tokenizer")
    return GigaGANPipeline(generator_model=generator.eval(), text_encoder=encoder.eval(), tokenizer=tokenizer)
