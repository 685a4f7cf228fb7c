import pytest

from interp.results import HeadScores, TaskMetrics, load_json, save_json


def test_head_scores_round_trip_and_top_heads(tmp_path):
    scores = HeadScores(
        model="m",
        score_names=("previous_token", "induction"),
        layers=(0, 1),
        heads=("L0H0", "L0H1", "L1H0", "L1H1"),
        scores=(((0.9, 0.1), (0.0, 0.2)), ((0.0, 0.1), (0.3, 0.8))),
        n_prompts=2,
        seq_len=5,
    )
    loaded = load_json(HeadScores, save_json(scores, tmp_path / "h.json"))
    assert loaded == scores
    assert loaded.top_heads("induction", 2) == [("L1H1", 0.8), ("L1H0", 0.3)]
    with pytest.raises(ValueError, match="holds a HeadScores, not a TaskMetrics"):
        load_json(TaskMetrics, tmp_path / "h.json")


def test_saving_rounds_once_to_seven_significant_digits(tmp_path):
    import json

    from interp.results import DLAResult

    exact = DLAResult(
        model="m",
        task="t",
        granularity="head",
        labels=("L0H0", "L0H1"),
        contributions=(1 / 3, 2e-9 / 3),
        other={"L0 b_O": 123456.789},
        unembed_bias=float("nan"),
        logit_diff=1 / 3 + 2e-9 / 3 + 123456.789,
        n_prompts=2,
    )
    assert exact.contributions[0] == 1 / 3  # in memory: the exact number
    saved = json.loads(save_json(exact, tmp_path / "d.json").read_text())
    assert saved["contributions"] == [0.3333333, 6.666667e-10] and saved["other"] == {"L0 b_O": 123456.8}
    loaded = load_json(DLAResult, tmp_path / "d.json")
    assert loaded.contributions == (0.3333333, 6.666667e-10) and isinstance(loaded.labels, tuple)
    assert loaded.unembed_bias != loaded.unembed_bias  # nan survives


def test_results_saved_by_the_previous_version_still_load(tmp_path):
    import json

    from interp.results import PatchResult

    # what the previous version wrote for a 2-layer, 2-position patching run: `kind`, no `intervention`
    old = {
        "type": "PatchResult", "kind": "activation_patching", "model": "zoo:induction-2l", "task": "induction",
        "site": "resid_pre", "direction": "denoise", "method": "fast", "metric": "logit_diff",
        "axes": ["layer", "pos"], "labels": {"layer": ["0", "1"], "pos": ["0 <bos>", "1 bat*"]},
        "raw": [[-1.5, 2.25], [-1.5, -1.5]], "normalized": [[0.0, 1.0], [0.0, 0.0]],
        "clean": 2.25, "corrupted": -1.5, "n_prompts": 4, "seconds": 0.05, "agreement": None,
    }  # fmt: skip
    (tmp_path / "old.json").write_text(json.dumps(old))
    loaded = load_json(PatchResult, tmp_path / "old.json")
    assert loaded.analysis == "activation_patching" and loaded.intervention == ""
    assert loaded.raw == ((-1.5, 2.25), (-1.5, -1.5)) and loaded.labels["pos"] == ("0 <bos>", "1 bat*")
