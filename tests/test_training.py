"""The trainer end to end: outputs, resume after SIGKILL, damaged checkpoints, NaN handling,
two-process data parallel, and the train/sample/export commands."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gigagan.cli import main as cli_main
from gigagan.training import TrainConfig, Trainer
from gigagan.training import checkpoint as ckpt

SMALL = {"generator.channel_max": 16, "generator.channel_base": 256, "discriminator.channel_max": 16,
         "discriminator.channel_base": 256, "training.r1_interval": 4}
SMALL_ARGS = [x for k, v in SMALL.items() for x in ("--set", f"{k}={v}")]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from gigagan.data import procedural

    out = tmp_path_factory.mktemp("data") / "proc"
    procedural.write_folder(out, 32, 32, seed=0, progress=False)
    return out


def small_config(data_dir, out, **kw):
    base = dict(preset="tiny", data=str(data_dir), out=str(out), batch_size=8, epochs=2, snapshot_every=1,
                log_every=1, progress=False, overrides=dict(SMALL))
    base.update(kw)
    return TrainConfig(**base)


def test_short_run_writes_every_output(data_dir, tmp_path):
    run = tmp_path / "run"
    Trainer(small_config(data_dir, run), log=lambda m: None).fit()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_0001", "epoch_0002"]
    files = sorted(p.name for p in (run / "checkpoints" / "epoch_0002").iterdir())
    for name in ("G.safetensors", "G_ema.safetensors", "D.safetensors", "optim_G.safetensors",
                 "optim_D.safetensors", "state.json"):
        assert name in files
    state = json.loads((run / "checkpoints" / "epoch_0002" / "state.json").read_text())
    assert state["step"] == 8 and state["epoch"] == 2 and state["format"] == "gigagan-checkpoint"
    from PIL import Image

    grid = Image.open(run / "samples" / "epoch_0002.png")
    assert grid.width > 3 * 128  # 3x3 cells of 128 px
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 8 and {"loss_d", "loss_g", "images_per_s", "grad_norm_d"} <= set(records[0])
    assert all(torch.isfinite(torch.tensor(r["loss_g"])) for r in records)
    assert any("r1" in r for r in records)
    gif = Image.open(run / "progress.gif")
    assert gif.n_frames == 2
    assert (run / "loss.png").stat().st_size > 1000
    assert (run / "config.json").exists() and (run / "tokenizer").is_dir()


def test_injected_nan_is_skipped_and_counted(data_dir, tmp_path):
    trainer = Trainer(small_config(data_dir, tmp_path / "run", epochs=1), log=lambda m: None)
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    trainer.inject_nan = {(0, "g"), (2, "d")}
    trainer.fit()
    assert trainer.bad_steps == 2
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["bad_steps"] == 1 and records[-1]["bad_steps"] == 2
    for k, v in trainer.G.state_dict().items():  # weights are finite and did train
        assert torch.isfinite(v).all(), k
    assert any(not torch.equal(before[k], v) for k, v in trainer.G.state_dict().items())


def test_repeated_nans_roll_back_with_lower_lr(data_dir, tmp_path):
    messages = []
    trainer = Trainer(small_config(data_dir, tmp_path / "run", epochs=3), log=messages.append)
    trainer.hp["max_bad_steps"] = 2
    trainer.inject_nan = {(5, "g"), (6, "g")}  # epoch_0001 exists by then (4 steps per epoch)
    trainer.fit()
    assert any("rolled back to epoch_0001" in m for m in messages)
    assert trainer.lr_scale == 0.5
    assert trainer.opt_G.param_groups[0]["lr"] == pytest.approx(trainer.hp["g_lr"] * 0.5)


def test_damaged_checkpoints_give_clear_errors(data_dir, tmp_path):
    run = tmp_path / "run"
    Trainer(small_config(data_dir, run, epochs=2), log=lambda m: None).fit()
    newest = run / "checkpoints" / "epoch_0002"
    g = newest / "G.safetensors"
    g.write_bytes(g.read_bytes()[: g.stat().st_size // 2])  # truncate
    with pytest.raises(ckpt.CheckpointError, match=r"G.safetensors is damaged \(truncated or corrupt"):
        ckpt.load_checkpoint(newest)
    # resume skips the damaged one, says so, and continues from the previous
    messages = []
    trainer = Trainer(small_config(data_dir, run, epochs=2), log=messages.append)
    assert trainer.resume().name == "epoch_0001"
    assert any("skipping damaged checkpoint" in m for m in messages)
    # a foreign file and broken JSON
    (newest / "state.json").write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="not valid JSON"):
        ckpt.read_state(newest)
    (newest / "state.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ckpt.CheckpointError, match="not a gigagan checkpoint"):
        ckpt.read_state(newest)
    with pytest.raises(ckpt.CheckpointError, match="has no state.json"):
        ckpt.read_state(tmp_path)


def test_checkpoint_for_another_model_is_refused(data_dir, tmp_path):
    run = tmp_path / "run"
    Trainer(small_config(data_dir, run, epochs=1), log=lambda m: None).fit()
    other = small_config(data_dir, run, epochs=1)
    other.overrides = dict(SMALL, **{"generator.channel_max": 8})
    with pytest.raises(ckpt.CheckpointError, match="other generator settings"):
        Trainer(other, log=lambda m: None).resume()


def _train_cmd(data_dir, out, *extra):
    return [sys.executable, "-m", "gigagan", "train", "--preset", "tiny", "--data", str(data_dir), "--out", str(out),
            "--batch-size", "4", "--epochs", "4", "--snapshot-every", "1", "--no-progress", *SMALL_ARGS, *extra]


def _final_weights(run):
    tensors, state = ckpt.load_checkpoint(run / "checkpoints" / "epoch_0004", names=["G", "G_ema", "D"])
    return tensors, state


def test_sigkill_then_resume_is_bit_identical(data_dir, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    straight = tmp_path / "straight"
    subprocess.run(_train_cmd(data_dir, straight), check=True, env=env, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(data_dir, killed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoints" / "epoch_0001" / "state.json").exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "checkpoints" / "epoch_0004").exists(), "killed too late to test resume"
    subprocess.run([sys.executable, "-m", "gigagan", "train", "--resume", str(killed), "--no-progress"],
                   check=True, env=env, capture_output=True)
    a, state_a = _final_weights(straight)
    b, state_b = _final_weights(killed)
    assert state_a["step"] == state_b["step"] == 32
    for name in a:
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f"{name}.{key} differs after resume"


def test_two_processes_over_gloo_end_identical(data_dir, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", GIGAGAN_DIST_TIMEOUT="120")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "gigagan", "train", "--preset", "tiny", "--data", str(data_dir), "--out", str(tmp_path / "ddp"),
           "--batch-size", "8", "--max-steps", "3", "--device", "cpu", "--no-progress", "--print-digest",
           *SMALL_ARGS]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    digests = {}
    for line in result.stdout.splitlines():
        if "weights sha256" in line:
            digests[line.split()[1]] = line.split()[-1]
    assert set(digests) == {"0", "1"}, result.stdout
    assert digests["0"] == digests["1"]
    # only rank 0 wrote files, once
    assert len(list((tmp_path / "ddp" / "checkpoints").iterdir())) == 1


def test_sample_and_export_commands(data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(small_config(data_dir, run, epochs=1), log=lambda m: None).fit()
    grid = tmp_path / "grid.png"
    assert cli_main(["sample", str(run), "--prompt", "a red star on snow", "--n", "9", "--out", str(grid)]) == 0
    from PIL import Image

    assert Image.open(grid).width > 3 * 128
    export = tmp_path / "export"
    assert cli_main(["export", str(run), str(export)]) == 0
    from gigagan import GigaGANPipeline

    pipe = GigaGANPipeline.from_pretrained(export)
    out = pipe("a red star on snow", generator=torch.Generator().manual_seed(0), output_type="pt").images
    assert out.shape == (1, 3, 32, 32)
    # the exported pipeline reproduces the run's EMA generator exactly
    trainer_pipe = __import__("gigagan.training.export", fromlist=["x"]).pipeline_from_run(run)
    ref = trainer_pipe("a red star on snow", generator=torch.Generator().manual_seed(0), output_type="pt").images
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_train_command_errors_are_clear(tmp_path, capsys):
    assert cli_main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli_main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--set", "generator.bogus=1"]) == 2


def test_offline_text_tower_fixed_by_default_trainable_on_request(data_dir, tmp_path):
    fixed = Trainer(small_config(data_dir, tmp_path / "fixed", epochs=1), log=lambda m: None)
    before = {k: v.clone() for k, v in fixed.text_encoder.state_dict().items()}
    fixed.fit()
    assert all(torch.equal(before[k], v) for k, v in fixed.text_encoder.state_dict().items())
    tensors, _ = ckpt.load_checkpoint(tmp_path / "fixed" / "checkpoints" / "epoch_0001")
    assert "text_encoder" in tensors and "text_encoder_ema" not in tensors

    trained = Trainer(small_config(data_dir, tmp_path / "trained", epochs=1,
                                   overrides=dict(SMALL, **{"training.train_text_encoder": True})),
                      log=lambda m: None)
    before = {k: v.clone() for k, v in trained.text_encoder.state_dict().items()}
    trained.fit()
    assert any(not torch.equal(before[k], v) for k, v in trained.text_encoder.state_dict().items())
    tensors, _ = ckpt.load_checkpoint(tmp_path / "trained" / "checkpoints" / "epoch_0001")
    assert "text_encoder_ema" in tensors
