"""Shared helpers of the benchmark scripts: machine description, tables and JSON results."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

from gigagan.compare import markdown_table  # noqa: F401 - the tables of every benchmark

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        cpu = names[0] if names else cpu
    info = {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "python": platform.python_version()}
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def write_results(name: str, benchmark: str, rows: list[dict], smoke: bool, versions: dict,
                  out: Path | None = None, **extra) -> Path:
    """Write the rows with machine, versions, command and date; smoke runs go to an ignored .tmp file."""
    result = {"benchmark": benchmark, "machine": machine(), "versions": versions,
              "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "smoke": smoke, "results": rows, **extra}
    out = out or RESULTS / (f"{name}-smoke.tmp" if smoke else f"{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out
