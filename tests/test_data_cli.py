"""``gigagan data ...``: exit codes and what the user reads."""

import json

import pytest
from PIL import Image

from gigagan.cli import build_parser, main
from gigagan.data import procedural


@pytest.fixture
def scenes(tmp_path):
    assert main(["data", "procedural", "--n", "4", "--size", "40", "--seed", "5", "--out", str(tmp_path / "s")]) == 0
    return tmp_path / "s"


def test_help_lists_the_data_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["data", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("procedural", "flux", "check", "sheet"):
        assert command in out


def test_procedural_writes_a_folder(scenes, capsys):
    lines = [json.loads(l) for l in (scenes / "metadata.jsonl").read_text().splitlines()]
    assert [l["file_name"] for l in lines] == [f"{i:05d}.png" for i in range(4)]
    assert lines[0] == procedural.record(5, 0)
    with Image.open(scenes / "00003.png") as image:
        assert image.size == (40, 40)


def test_heldout_split(tmp_path):
    assert main(["data", "procedural", "--n", "20", "--size", "16", "--split", "heldout", "--out", str(tmp_path)]) == 0
    lines = [json.loads(l) for l in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    assert all(procedural.is_heldout(l) and l["split"] == "heldout" for l in lines)


def test_check_good_folder_exits_0(scenes, capsys):
    assert main(["data", "check", str(scenes), "--resolution", "32"]) == 0
    out = capsys.readouterr().out
    assert "4 inputs, 4 good, 0 bad" in out and "ok: ready for training" in out


def test_check_bad_folder_exits_1_and_names_each_problem(scenes, capsys):
    (scenes / "notes.png").write_text("hello")
    Image.new("RGB", (20, 20)).save(scenes / "small.png")
    with open(scenes / "metadata.jsonl", "a") as f:
        f.write('{"file_name": "notes.png", "text": "x"}\n{"file_name": "small.png", "text": "y"}\n')
        f.write("not json\n")
        f.write('{"file_name": "gone.png", "text": "z"}\n')
    assert main(["data", "check", str(scenes), "--resolution", "32"]) == 1
    out = capsys.readouterr().out
    assert "8 inputs, 4 good, 4 bad" in out
    for phrase in ("notes.png: not an image", "small.png: image is 20x20", "metadata.jsonl line 7: not valid JSON",
                   "gone.png (metadata.jsonl line 8): file does not exist", "pass --skip-bad"):
        assert phrase in out, out
    assert main(["data", "check", str(scenes), "--resolution", "32", "--skip-bad"]) == 0
    assert "with --skip-bad these 4 are skipped; 4 images remain" in capsys.readouterr().out


def test_check_without_resolution_does_not_flag_sizes(scenes, capsys):
    Image.new("RGB", (20, 20)).save(scenes / "small.png")
    with open(scenes / "metadata.jsonl", "a") as f:
        f.write('{"file_name": "small.png", "text": "y"}\n')
    assert main(["data", "check", str(scenes)]) == 0
    assert "shorter side 20 to 40 px" in capsys.readouterr().out


def test_check_caption_flag(tmp_path, capsys):
    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    assert main(["data", "check", str(tmp_path)]) == 2
    assert "gigagan data: error:" in capsys.readouterr().err
    assert main(["data", "check", str(tmp_path), "--caption", "a black square"]) == 0
    assert "1 from --caption" in capsys.readouterr().out


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_check_user_errors_exit_2(tmp_path, capsys, make):
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    if make == "file":
        target.write_text("")
    assert main(["data", "check", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gigagan data: error: ") and str(target) in err


def test_procedural_refusing_to_mix_exits_2(scenes, capsys):
    assert main(["data", "procedural", "--n", "4", "--size", "40", "--seed", "6", "--out", str(scenes)]) == 2
    assert "made with seed=5, not 6" in capsys.readouterr().err


def test_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["data", "sheet", "--out", str(out), "--n", "4", "--size", "32"]) == 0
    with Image.open(out) as image:
        assert image.size[0] > 4 * 32
