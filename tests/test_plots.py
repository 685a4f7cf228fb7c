from interp.plots import plot_head_scores, plot_task_metrics
from interp.results import HeadScores, TaskMetrics


def test_head_score_figure_has_one_labelled_heatmap_per_score():
    scores = HeadScores(
        model="m",
        score_names=("previous_token", "induction"),
        layers=(0, 1),
        heads=("L0H0", "L0H1", "L1H0", "L1H1"),
        scores=(((0.9, 0.1), (0.0, 0.2)), ((0.0, 0.1), (0.3, 0.8))),
        n_prompts=2,
        seq_len=5,
    )
    fig = plot_head_scores(scores)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert list(fig.data[1].y) == ["L0", "L1"] and list(fig.data[1].x) == ["H0", "H1"]
    assert fig.data[1].z[1][1] == 0.8


def test_task_figure_shows_clean_and_corrupted_per_prompt():
    metrics = TaskMetrics(
        model="m",
        task="ioi",
        n_prompts=2,
        prompts=("a", "b"),
        clean_logit_diff=(3.0, 1.0),
        corrupted_logit_diff=(-1.0, 0.0),
        clean_accuracy=1.0,
        corrupted_accuracy=0.0,
        clean_answer_prob=0.8,
        corrupted_answer_prob=0.1,
        kl_corrupted_to_clean=1.2,
    )
    fig = plot_task_metrics(metrics)
    assert [t.name for t in fig.data] == ["clean", "corrupted"]
    assert list(fig.data[0].y) == [3.0, 1.0] and "2.00 clean" in fig.layout.title.text
