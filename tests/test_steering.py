"""The causal check: exact interventions, and verdicts on directions that do and do not matter."""

import pytest
import torch

from interp.probing.causal_check import causal_check, direction_edit
from interp.probing.datasets import ioi_io_task, repeat_task
from interp.probing.experiment import probe_experiment
from interp.probing.probes import TrainedProbe
from tests.tolerances import PER_LAYER, f32_tol, logit_scale


def test_ablation_and_steering_are_exact():
    gen = torch.Generator().manual_seed(0)
    act = torch.randn(2, 5, 16, generator=gen)
    dirs = torch.randn(2, 16, generator=gen)
    where = torch.zeros(2, 5, dtype=torch.bool)
    where[:, 3] = True
    out = direction_edit(dirs, where, mode="ablate")(act.clone())
    # both directions projected out at the chosen position: zero up to float32 rounding of dot products of 16
    # terms, 16 eps of |act| |direction| (measured <= 2 eps)
    tol = f32_tol(act[:, 3].norm(dim=-1).max() * dirs.norm(dim=-1).max(), depth=16)
    assert (out[:, 3] @ dirs.T).abs().max() < tol
    torch.testing.assert_close(out[:, :3], act[:, :3])  # other positions untouched
    unit = dirs[0] / dirs[0].norm()
    out = direction_edit(dirs, where, mode="steer", scale=2.5)(act.clone())
    torch.testing.assert_close(out[:, 3] - act[:, 3], (2.5 * unit).expand(2, 16))
    with pytest.raises(ValueError, match="mode must be one of 'ablate', 'steer'; got 'zero'"):
        direction_edit(dirs, where, mode="zero")


def test_lang_model_uses_the_io_direction(lang_model):
    task = ioi_io_task(lang_model, n_prompts=256)
    experiment = probe_experiment(lang_model, task, site="resid_post")
    result, check = experiment.probes, experiment.causal_check
    assert result.accuracy[1] >= 0.95 and result.selectivity[1] >= 0.6  # IO identity is decodable from layer 1
    assert check.hook == "blocks.1.hook_resid_post" and check.verdict == "changes the output"
    assert check.effect < -0.3 * check.metric_clean  # ablating it costs a large part of the logit difference
    assert abs(check.random_effect) < abs(check.effect) / 3
    assert check.downstream_accuracy_intervened <= check.downstream_accuracy_clean


def test_a_direction_that_changes_nothing_is_reported(lang_model):
    task = ioi_io_task(lang_model, n_prompts=64)
    gen = torch.Generator().manual_seed(5)
    unused = TrainedProbe("logistic", torch.randn(2, 128, generator=gen), torch.zeros(2), 1.0, 1.0, 1.0, 1)
    # layer 0 residual at the final token, one random direction: decodes nothing the model needs
    check = causal_check(lang_model, task, unused, hook="blocks.0.hook_resid_post", prompts=range(64))
    assert check.verdict == "decodes but does not change the output"


def test_repeat_task_labels(induction_model):
    task = repeat_task(induction_model, n_prompts=20, n_pos=40)
    grid = torch.zeros_like(task.tokens)
    grid[task.mask] = task.labels
    for row, lab in zip(task.tokens, grid):
        pos = lab.nonzero().flatten()
        n = len(pos)
        assert 4 <= n <= 12 and torch.equal(pos, torch.arange(pos[0], pos[0] + n))
        assert torch.equal(row[pos], row[pos - n])  # labelled tokens repeat the n tokens before them


def test_llama_projecting_out_the_answer_direction_zeroes_the_logit_difference(llama_model):
    # RMSNorm only rescales, and compatibility mode folds its weight into W_U: with W_U[:, a] - W_U[:, b]
    # projected out of the last residual at the read position, logit(a) - logit(b) there is exactly 0.
    from interp.probing.datasets import ProbingTask

    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, 64, (12, 8), generator=gen)
    mean_logits = llama_model(tokens)[:, -1].mean(0)
    a, b = int(mean_logits.argmax()), int(mean_logits.argmin())  # a large difference to remove
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, -1] = True

    def diff(logits, prompts):
        return logits[:, -1, a] - logits[:, -1, b]

    task = ProbingTask("ab", "a over b", tokens, mask, torch.zeros(12, dtype=torch.long), ("x", "y"), "a-b", diff)
    W_U = llama_model.W_U.detach()
    probe = TrainedProbe("logistic", torch.stack([W_U[:, b], W_U[:, a]]), torch.zeros(2), 1.0, 1.0, 1.0, 1)
    check = causal_check(llama_model, task, probe, hook="blocks.1.hook_resid_post", prompts=range(12))
    # zero up to float32 rounding of the logits (~4 here) in the final norm and unembedding
    scale = logit_scale(llama_model, tokens)
    assert check.metric_clean > 1 and abs(check.metric_intervened) < f32_tol(scale, PER_LAYER)
    assert check.verdict == "changes the output"
    steer = causal_check(llama_model, task, probe, hook="blocks.1.hook_resid_post", prompts=range(12), mode="steer")
    # alpha 0 adds nothing: the same function run otherwise, rounding of the logits' size in each layer
    tol = f32_tol(scale, PER_LAYER * llama_model.cfg.n_layers)
    assert steer.metric_intervened == pytest.approx(steer.metric_clean, abs=tol)


def test_llama_probe_experiment(llama_model):
    task = repeat_task(llama_model, n_prompts=48, n_pos=20)
    experiment = probe_experiment(llama_model, task, site="resid_mid")
    result, check = experiment.probes, experiment.causal_check
    assert len(result.accuracy) == 2 and all(0 <= x <= 1 for x in result.accuracy)
    assert check.hook in ("blocks.0.hook_resid_mid", "blocks.1.hook_resid_mid")
    # the metric of the unedited run is the task's own metric of the model's logits on the test prompts
    idx = torch.tensor(sorted(result.test_prompts))
    with torch.no_grad():
        logits = llama_model(task.tokens[idx])
        direct = float(task.metric(logits, idx).mean())
    # the same run batched otherwise: float32 rounding of the logits' size in each layer
    tol = f32_tol(logits.abs().max(), PER_LAYER * llama_model.cfg.n_layers)
    assert check.metric_clean == pytest.approx(direct, abs=tol)
