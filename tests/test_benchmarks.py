"""The benchmark scripts run end to end in their smoke mode (seconds) and write their JSON."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["bench_data.py", "bench_sampling.py", "gpu_check.py", "bench_compare.py",
                                    "bench_flux.py", "bench_tiny.py"])
def test_benchmark_smoke(script, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "|---" in result.stdout  # a markdown table
    name = {"bench_data.py": "data", "bench_sampling.py": "sampling", "gpu_check.py": "gpu_check",
            "bench_compare.py": "compare", "bench_flux.py": "flux", "bench_tiny.py": "tiny"}[script]
    data = json.loads((ROOT / "benchmarks" / "results" / f"{name}-smoke.tmp").read_text())
    assert data["smoke"] is True and data["results"] and {"machine", "versions", "command", "date"} <= set(data)
    if script == "bench_compare.py":
        quality = {row["model"]: row for row in data["quality"]}
        assert {"GigaGAN (ours)", "diffusion UNet, 2 steps"} <= set(quality)
        assert 0 <= quality["GigaGAN (ours)"]["background"] <= 1 and quality["GigaGAN (ours)"]["fd_probe"] > 0
        lucid_installed = (ROOT / "benchmarks" / ".venv-gigagan-pytorch" / "bin" / "python").exists()
        for row in data["speed"]:  # measured ratios where gigagan-pytorch is installed, a clear note where not
            assert ("ratio" in row) == lucid_installed, row
            if not lucid_installed:
                assert "make bench-venv" in row["gigagan_pytorch"]


def test_tiny_benchmark_rows_name_every_setting():
    """bench_tiny's smoke JSON (written by the smoke test above) has one judged row per setting."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_tiny import SETTINGS

    path = ROOT / "benchmarks" / "results" / "tiny-smoke.tmp"
    if not path.is_file():
        pytest.skip("run after test_benchmark_smoke[bench_tiny.py]")
    rows = json.loads(path.read_text())["results"]
    assert [r["setting"] for r in rows] == list(SETTINGS)
    assert all(r["steps"] == 4 and 0 <= r["color"] <= 1 for r in rows)
    assert [r["clip_losses"] for r in rows].count(True) == 1
    assert rows[1]["text_encoder"] == "tiny"
