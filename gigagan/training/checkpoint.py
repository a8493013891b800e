"""Checkpoints: safetensors for tensors, JSON for everything else, written atomically.

A checkpoint is a folder (``checkpoints/epoch_0005/``) holding one ``.safetensors`` file
per state dict (G, G_ema, D, optimizers, RNG states) and ``state.json`` (step, epoch,
config, file sizes and SHA-256 digests). It is written under a temporary name and
renamed into place, so a crash mid-write never damages the previous checkpoint, and it
is verified on load, so a truncated or foreign file gives a clear error. Nothing is
ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT = "gigagan-checkpoint"
VERSION = 1
NAME_RE = re.compile(r"^(epoch_\d{4,}|step_\d{8,})$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged, or not a gigagan checkpoint."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(directory: Path, tensors: dict[str, dict[str, torch.Tensor]], state: dict) -> Path:
    """Write ``tensors`` (name -> state dict) and ``state`` to ``directory`` atomically."""
    directory = Path(directory)
    tmp = directory.with_name(f".tmp-{directory.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for name, state_dict in tensors.items():
        path = tmp / f"{name}.safetensors"
        save_file({k: v.detach().contiguous().cpu() for k, v in state_dict.items()}, str(path))
        files[name] = {"file": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path)}
    meta = {"format": FORMAT, "version": VERSION, "files": files, **state}
    with open(tmp / "state.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if directory.exists():
        old = directory.with_name(f".old-{directory.name}-{os.getpid()}")
        directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(directory)
    return directory


def read_state(directory: Path) -> dict:
    """``state.json`` of a checkpoint, checked to be ours."""
    directory = Path(directory)
    path = directory / "state.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a gigagan checkpoint: it has no state.json. "
                              "Point to a folder like RUN_DIR/checkpoints/epoch_0005.")
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is damaged (not valid JSON: {err}). Delete {directory} "
                              "and resume from an earlier checkpoint.") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{directory} is not a gigagan checkpoint (state.json has no "
                              f"'format': '{FORMAT}'); refusing to load a foreign file.")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{directory} was written by a newer gigagan (checkpoint version "
                              f"{state['version']} > {VERSION}); upgrade gigagan to load it.")
    return state


def verify_checkpoint(directory: Path) -> dict:
    """Check every file's size and SHA-256 against ``state.json``; return the state."""
    directory = Path(directory)
    state = read_state(directory)
    for name, entry in state["files"].items():
        path = directory / entry["file"]
        if not path.is_file():
            raise CheckpointError(f"checkpoint {directory} is damaged: {entry['file']} is missing. "
                                  "Delete the folder and resume from an earlier checkpoint.")
        size = path.stat().st_size
        if size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise CheckpointError(
                f"checkpoint file {path} is damaged (truncated or corrupt: {size} bytes, expected "
                f"{entry['bytes']}, or a different checksum). Delete {directory} and resume from "
                "an earlier checkpoint.")
    return state


def load_checkpoint(directory: Path, names: list[str] | None = None) -> tuple[dict[str, dict], dict]:
    """Verified tensors (name -> state dict) and state of a checkpoint."""
    directory = Path(directory)
    state = verify_checkpoint(directory)
    tensors = {}
    for name, entry in state["files"].items():
        if names is not None and name not in names:
            continue
        try:
            tensors[name] = load_file(str(directory / entry["file"]))
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"checkpoint file {directory / entry['file']} cannot be read ({err}); "
                                  "delete the folder and resume from an earlier checkpoint.") from err
    if names is not None and (missing := set(names) - set(tensors)):
        raise CheckpointError(f"checkpoint {directory} has no {sorted(missing)}; it was not written by "
                              "the gigagan trainer.")
    return tensors, state


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint folders of a run, oldest first (by the step recorded in the name order)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.is_dir() and NAME_RE.match(path.name):
            try:
                step = json.loads((path / "state.json").read_text()).get("step", -1)
            except (OSError, json.JSONDecodeError):
                step = -1
            found.append((step, path.name, path))
    return [p for _, _, p in sorted(found)]


def newest_valid_checkpoint(run_dir: Path, warn=print) -> Path | None:
    """The newest checkpoint that passes verification; damaged ones are reported and skipped."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            verify_checkpoint(path)
            return path
        except CheckpointError as err:
            warn(f"skipping damaged checkpoint: {err}")
    return None


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state dict into tensors (for safetensors) and JSON metadata."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def load_state_dict_strict(module: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """``load_state_dict`` with an error that says the checkpoint belongs to another model."""
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    wrong = [k for k in own if k in tensors and own[k].shape != tensors[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"the checkpoint's {what} does not match this model (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, shape mismatch {wrong[:3]}); it was trained with another preset or config.")
    module.load_state_dict(tensors)
