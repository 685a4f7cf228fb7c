"""Metrics on hand-built logits whose answers are known."""

import pytest
import torch

from interp.core import metrics
from interp.tasks.generators import Task
from tests.tolerances import f32_tol


def _task(answers, wrongs, pos):
    n = len(answers)
    toks = torch.zeros(n, 4, dtype=torch.long)
    return Task(
        "t",
        toks,
        toks.clone(),
        torch.tensor(answers),
        torch.tensor(wrongs),
        torch.tensor(pos),
        str_tokens=(("a",) * 4,) * n,
        corrupted_str_tokens=(("a",) * 4,) * n,
    )


def test_logit_diff_reads_each_prompts_metric_position():
    logits = torch.zeros(2, 4, 5)
    logits[0, 3, 1], logits[0, 3, 2] = 5.0, 2.0  # prompt 0 reads position 3
    logits[1, 2, 4], logits[1, 2, 0] = 1.0, 4.0  # prompt 1 reads position 2
    logits[1, 3, 4] = 100.0  # not read
    task = _task([1, 4], [2, 0], [3, 2])
    last = metrics.at_metric_pos(logits, task)
    torch.testing.assert_close(metrics.logit_diff(last, task), torch.tensor([3.0, -3.0]))
    torch.testing.assert_close(metrics.accuracy(last, task), torch.tensor([1.0, 0.0]))


def test_answer_prob_and_kl():
    logits = torch.zeros(1, 4, 4)
    logits[0, 3] = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    task = _task([3], [0], [3])
    last = metrics.at_metric_pos(logits, task)
    torch.testing.assert_close(metrics.answer_prob(last, task), torch.tensor([0.4]))
    # zero up to a few eps of the log-probabilities (|log 0.1| = 2.3) that each term p_i (log p_i - log q_i) reads
    assert metrics.kl_to_clean(last, last).abs().item() < f32_tol(2.3, depth=4)
    uniform = torch.zeros(1, 4)
    p = torch.tensor([0.1, 0.2, 0.3, 0.4])
    expected = (p * (p.log() - torch.log(torch.tensor(0.25)))).sum()
    torch.testing.assert_close(metrics.kl_to_clean(uniform, last), expected.reshape(1))


def test_normalise():
    torch.testing.assert_close(
        metrics.normalise(torch.tensor([2.0, 4.0, 3.0]), 4.0, 2.0), torch.tensor([0.0, 1.0, 0.5])
    )
    with pytest.raises(ValueError, match="equal"):
        metrics.normalise(1.0, 2.0, 2.0)
