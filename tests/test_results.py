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
    with pytest.raises(ValueError, match="not a TaskMetrics"):
        load_json(TaskMetrics, tmp_path / "h.json")
