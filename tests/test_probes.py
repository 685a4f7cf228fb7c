"""Probe training against planted answers, scikit-learn, and controls."""

import pytest
import torch

from interp.probing.probes import ProbeConfig, control_labels, split_by_prompt, train_probe


def _split(n, config=ProbeConfig()):
    return split_by_prompt(torch.arange(n), config)


def test_planted_direction_is_recovered():
    gen = torch.Generator().manual_seed(0)
    n, d = 3000, 32
    u = torch.randn(d, generator=gen)
    u /= u.norm()
    y = torch.randint(0, 2, (n,), generator=gen)
    # class means at +-4 along u, unit noise: Bayes error Phi(-4) = 3e-5
    x = torch.randn(n, d, generator=gen) + (2 * y[:, None] - 1) * 4.0 * u
    probe = train_probe(x, y, split=_split(n))
    assert probe.test_score >= 0.99
    assert float(probe.directions[0] @ u) >= 0.95


def test_random_labels_stay_at_chance():
    gen = torch.Generator().manual_seed(1)
    n = 5000
    x, y = torch.randn(n, 32, generator=gen), torch.randint(0, 2, (n,), generator=gen)
    probe = train_probe(x, y, split=_split(n))
    # 1000 test rows: the accuracy of a chance probe has std 0.016; 0.05 is about 3 std
    assert abs(probe.test_score - 0.5) < 0.05


def test_agrees_with_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    gen = torch.Generator().manual_seed(2)
    n, d, k = 3000, 20, 3
    means = torch.randn(k, d, generator=gen) * 0.6
    y = torch.randint(0, k, (n,), generator=gen)
    x = torch.randn(n, d, generator=gen) * 1.5 + means[y] + 3.0  # overlapping classes, off-centre features
    config = ProbeConfig(weight_decay=1e-2, max_epochs=2000, patience=200)
    split = _split(n, config)
    ours = train_probe(x, y, split=split, config=config)
    # same objective: our mean loss + wd/2 ||W||^2 on standardised features = sklearn's C * sum loss + 1/2 ||W||^2
    mean, std = x[split.train].mean(0), x[split.train].std(0)
    z = (x - mean) / std
    sk = LogisticRegression(C=1 / (config.weight_decay * len(split.train)), max_iter=5000).fit(
        z[split.train], y[split.train]
    )
    sk_acc = float((torch.as_tensor(sk.predict(z[split.test])) == y[split.test]).float().mean())
    assert 0.6 < sk_acc < 0.95  # a task where the two could disagree
    assert abs(ours.test_score - sk_acc) <= 0.01, (ours.test_score, sk_acc)


def test_linear_regression_probe():
    gen = torch.Generator().manual_seed(3)
    n, d = 2000, 16
    w = torch.randn(d, generator=gen)
    x = torch.randn(n, d, generator=gen)
    y = x @ w + 0.5 * torch.randn(n, generator=gen)
    probe = train_probe(x, y, split=_split(n), config=ProbeConfig(kind="linear"))
    expected_r2 = float(w @ w / (w @ w + 0.25))
    assert abs(probe.test_score - expected_r2) < 0.02
    with pytest.raises(ValueError, match="integer class labels"):
        train_probe(x, y, split=_split(n))


def test_split_keeps_prompts_whole():
    prompt_index = torch.arange(100).repeat_interleave(7)
    split = split_by_prompt(prompt_index, ProbeConfig())
    parts = [set(prompt_index[rows].tolist()) for rows in (split.train, split.val, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in parts) == 100 and len(split.test_prompts) == 20
    with pytest.raises(ValueError, match="too few"):
        split_by_prompt(torch.arange(2), ProbeConfig())


def test_control_labels():
    token = torch.tensor([5, 7, 5, 9, 7, 5] * 20)
    labels = torch.tensor([0, 1] * 60)
    control, kind = control_labels(token, labels, seed=0)
    assert kind == "token-type"
    for t in (5, 7, 9):
        assert len(control[token == t].unique()) == 1  # one label per token type
    shuffled, kind = control_labels(torch.full((120,), 3), labels, seed=0)
    assert kind == "shuffled" and sorted(shuffled.tolist()) == sorted(labels.tolist())


def test_config_validation():
    with pytest.raises(ValueError, match="kind"):
        ProbeConfig(kind="svm")
    with pytest.raises(ValueError, match="fraction"):
        ProbeConfig(val_fraction=0.5, test_fraction=0.5)
