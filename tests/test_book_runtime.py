"""The chapters' shared run folder: each chapter rebuilds what is missing and reuses what exists."""

import json

from gigagan import book


def test_chapters_build_data_and_run_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GIGAGAN_BOOK_DIR", str(tmp_path))
    monkeypatch.setenv("GIGAGAN_BOOK_IMAGES", "48")
    monkeypatch.setenv("GIGAGAN_BOOK_MINUTES", "0.02")
    s = book.settings()
    assert s.device == "cpu" and s.preset == "tiny" and s.data_source == "procedural"
    assert "tiny" in s.describe() and "procedural" in s.describe()
    data = book.ensure_dataset(s)
    assert len((data / "metadata.jsonl").read_text().splitlines()) == 48
    run = book.ensure_run(s, log=lambda m: None)
    assert book.run_finished(run)
    done = json.loads((run / "DONE").read_text())
    assert done["steps"] >= 1
    stamp = (run / "DONE").stat().st_mtime_ns
    assert book.ensure_run(s, log=lambda m: None) == run  # reused, not retrained
    assert (run / "DONE").stat().st_mtime_ns == stamp
    pipe = book.ensure_pipeline(s)
    assert pipe("a red star on snow", output_type="pt").images.shape == (1, 3, 32, 32)
