"""gigagan.compare: the replayed images line up with the prompts the probe report asks for."""

import pytest
import torch

from gigagan import compare, metrics


def test_eval_prompts_are_the_prompts_evaluate_sampler_asks_for():
    asked = []

    def sampler(prompts, generator):
        asked.extend(prompts)
        return torch.zeros(len(prompts), 3, 32, 32)

    metrics.evaluate_sampler(sampler, metrics.ProbeClassifier().eval(), 32, n=64, batch=32)
    assert asked == compare.eval_prompts(64)
    assert len(set(asked[:64]) & set(asked[64:])) == 0  # training-split and held-out prompts differ


def test_judge_replays_images_in_order():
    probe = metrics.ProbeClassifier().eval()
    g = torch.Generator().manual_seed(0)
    train, held = torch.rand(64, 3, 32, 32, generator=g) * 2 - 1, torch.rand(64, 3, 32, 32, generator=g) * 2 - 1
    calls = iter([train, held])
    direct = metrics.evaluate_sampler(lambda p, gen: next(calls), probe, 32, n=64, batch=64)
    replayed = compare.judge(torch.cat([train, held]), 64, probe)
    for key in ("accuracy_train", "accuracy_heldout", "fd_probe"):
        assert replayed[key] == direct[key], key
    swapped = compare.judge(torch.cat([held, train]), 64, probe)
    assert swapped["fd_probe"] != direct["fd_probe"]
    with pytest.raises(ValueError, match="expected 128 images"):
        compare.judge(train, 64, probe)


def test_markdown_table_formats_numbers_and_leaves_gaps():
    table = compare.markdown_table([{"a": 0.12345, "b": 1234.5, "c": 7}, {"a": "x"}],
                                   [("a", "A"), ("b", "B"), ("c", "C")])
    assert table.splitlines() == ["| A | B | C |", "|---|---|---|", "| 0.123 | 1,234 | 7 |", "| x |  |  |"]


def test_a_diverged_model_gets_a_note_not_a_score():
    images = torch.zeros(128, 3, 32, 32)
    images[:32] = float("nan")
    train = {"train_steps": 10, "train_images_per_s": 5.0, "first_nonfinite_loss_step": 8}
    row = compare.quality_row("m", 1000, train, 1, 1.0, images, 64, metrics.ProbeClassifier().eval())
    assert row["note"] == "25% of samples are NaN or inf (training diverged; first non-finite loss at step 8)"
    assert "background" not in row
    ok = compare.quality_row("m", 1000, train, 1, 2.0, torch.zeros(128, 3, 32, 32), 64, metrics.ProbeClassifier().eval())
    assert ok["sample_images_per_s"] == 64 and 0 <= ok["background"] <= 1 and "note" not in ok
