"""Quality per CPU-minute of the ``tiny`` preset: the settings tried while tuning it, each trained
for the same minutes on the same procedural data and judged by the probe.

    python benchmarks/bench_tiny.py                      # 10 minutes per setting (about 45 min)
    python benchmarks/bench_tiny.py --minutes 3 --only preset 'random text tower'
    python benchmarks/bench_tiny.py --smoke              # a few steps each, for CI

Prints a markdown table and writes JSON (machine, versions, command, date) to
benchmarks/results/tiny.json (with --smoke to tiny-smoke.tmp, which git ignores). Each row:
steps reached, training images/s, and the probe's attribute accuracy (background, object
colour; chance 0.125) and FD-probe on 256 training-split prompts. Run nothing else on the
machine meanwhile: the budget is wall-clock minutes.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

import gigagan
from gigagan import metrics
from gigagan.data import procedural

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_results  # noqa: E402

# name -> (text encoder, clip model, preset overrides); the first is the preset as shipped
SETTINGS = {
    "preset": (None, None, {}),
    "random text tower": ("tiny", None, {}),
    "+ CLIP contrastive and vision-aided losses (scene CLIP)": (None, "scene-clip", {}),
    "mapping lr_mul 0.1 (slower mapping network)": (None, None, {"generator.mapping_lr_mul": 0.1}),
}
COLUMNS = [("setting", "setting"), ("minutes", "minutes"), ("steps", "steps"), ("images_per_s", "train images/s"),
           ("background", "background acc."), ("color", "colour acc."), ("heldout_color", "held-out colour acc."),
           ("fd_probe", "FD-probe")]


def run_setting(name: str, data: Path, out: Path, minutes: float | None, steps: int | None, n_eval: int) -> dict:
    from gigagan.models.scene_clip import ensure_scene_clip
    from gigagan.training import TrainConfig, Trainer
    from gigagan.training.export import pipeline_from_run

    text_encoder, clip_model, overrides = SETTINGS[name]
    if clip_model == "scene-clip":
        clip_model = str(ensure_scene_clip(progress=False))
    cfg = TrainConfig(preset="tiny", data=str(data), out=str(out), max_minutes=minutes, max_steps=steps,
                      epochs=10 ** 6, snapshot_every=10 ** 6, log_every=10 ** 6, progress=False,
                      text_encoder=text_encoder, clip_model=clip_model, overrides=dict(overrides))
    trainer = Trainer(cfg, log=lambda m: None)
    start = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - start
    report = metrics.evaluate_pipeline(pipeline_from_run(out), metrics.load_probe(), n=n_eval)
    acc = report["accuracy_train"]
    return {"setting": name, "minutes": round(seconds / 60, 2), "steps": trainer.step,
            "images_per_s": round(trainer.images_seen / seconds, 1), "background": acc["background"],
            "color": acc["color"], "heldout_color": report["accuracy_heldout"]["color"],
            "fd_probe": round(report["fd_probe"], 1), "text_encoder": text_encoder or "preset (scene CLIP)",
            "clip_losses": bool(clip_model), "overrides": overrides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes per setting")
    parser.add_argument("--only", nargs="+", choices=list(SETTINGS), help="run only these settings")
    parser.add_argument("--smoke", action="store_true", help="4 steps per setting on 64 images (seconds)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args()
    torch.set_num_threads(min(torch.get_num_threads(), 2) if not args.smoke else torch.get_num_threads())
    names = args.only or list(SETTINGS)
    n_images, n_eval = (64, 16) if args.smoke else (4000, 256)
    minutes, steps = (None, 4) if args.smoke else (args.minutes, None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = procedural.write_folder(Path(tmp) / "data", n_images, 32, seed=0, progress=False)
        metrics.load_probe()  # trained once and cached, outside the timings
        for i, name in enumerate(names):
            rows.append(run_setting(name, Path(data), Path(tmp) / f"run{i}", minutes, steps, n_eval))
            print(f"done: {name}", flush=True)
    print(markdown_table(rows, COLUMNS))
    print("\nchance 0.125 for background and colour; the probe reads real scenes at about 1.00 and 0.98")
    versions = {"gigagan": gigagan.__version__, "torch": torch.__version__}
    out = write_results("tiny", "tiny preset: quality per CPU-minute", rows, args.smoke, versions, args.out,
                        minutes_per_setting=None if args.smoke else args.minutes, images=n_images, eval_prompts=n_eval)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
