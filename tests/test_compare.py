"""Comparing models (interp.compare): linear CKA's invariances on data whose answer is known, a model against
itself, against its fine-tuned twin and against a random-weights twin, the refusal of models that read different
tokens, and `interp compare`."""

import json

import pytest
import torch

from interp.compare import chance_cka, compare_roles, layer_similarity, linear_cka, random_twin
from interp.results import LayerSimilarity, RoleComparison, load_json, save_json

# float64 throughout (interp.compare.cka): an exact invariance holds to well under 1e-9
EXACT = 1e-9


def _rows(model, n_rows=16, n_pos=24):
    from interp.loading.token_sources import token_rows

    return token_rows(model, n_tokens=n_rows * n_pos, context=n_pos, seed=3)


def test_cka_is_invariant_to_rotation_uniform_scale_and_shift_and_to_nothing_else():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 24, generator=gen) @ torch.randn(24, 24, generator=gen)  # correlated features
    q, _ = torch.linalg.qr(torch.randn(24, 24, generator=gen))
    assert abs(linear_cka(x, x) - 1) < EXACT
    assert abs(linear_cka(x, 3.5 * x @ q + 7.0) - 1) < EXACT  # rotation, uniform scale, shift
    y = torch.randn(400, 40, generator=gen)
    assert abs(linear_cka(x, y) - linear_cka(y, x)) < EXACT  # symmetric, widths may differ
    stretched = x * torch.linspace(0.1, 3.0, 24)  # an axis-wise scaling is not a similarity transform
    assert linear_cka(x, stretched) < 0.95
    assert linear_cka(x, y) < 0.2  # independent data: near chance
    # refused: by the shape annotation under the tests' run-time checks (a TypeError), by the function itself else
    with pytest.raises((TypeError, ValueError)):
        linear_cka(x, y[:300])
    with pytest.raises(ValueError, match="zero variance"):
        linear_cka(torch.ones(400, 3), y)


def test_chance_is_the_mean_over_shuffled_pairings():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(60, 8, generator=gen) * torch.linspace(0.2, 4.0, 8)  # unequal directions
    y = x @ torch.randn(8, 5, generator=gen) + 0.3 * torch.randn(60, 5, generator=gen)
    shuffled = [linear_cka(x, y[torch.randperm(60, generator=gen)]) for _ in range(4000)]
    mean = sum(shuffled) / len(shuffled)
    spread = torch.tensor(shuffled).std().item() / len(shuffled) ** 0.5
    assert abs(chance_cka(x, y) - mean) < 4 * spread, (chance_cka(x, y), mean, spread)
    # below what isotropic data of these widths scores (sqrt(d1 d2) / (n - 1)): a few directions dominate
    assert chance_cka(x, y) < (8 * 5) ** 0.5 / 59
    iso = torch.randn(60, 8, generator=gen), torch.randn(60, 5, generator=gen)
    assert abs(chance_cka(*iso) - (8 * 5) ** 0.5 / 59) < 0.3 * (8 * 5) ** 0.5 / 59
    assert linear_cka(x, y) > 0.5  # y is read from x: far above its chance


def test_a_model_against_itself_its_fine_tuned_twin_and_random_weights(lang_model, tmp_path):
    from interp.loading.model import load_model

    rows = _rows(lang_model)
    seen = []
    own = layer_similarity(lang_model, lang_model, rows, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 7) for i in range(1, 8)]  # 2 passes of 8 rows (one model), then 5 rows of the matrix
    n = len(own.layers_a)
    assert own.layers_a == ("embed", "L0", "L1", "L2", "L3") and own.n_tokens == 16 * 23  # the first position left out
    for i in range(n):
        assert abs(own.values[i][i] - 1) < 1e-9
        for j in range(n):
            assert abs(own.values[i][j] - own.values[j][i]) < 1e-9
    assert own.best_match() == own.layers_a
    # twin-head is lang-4l fine-tuned on clean text (the trojans' control) at block 2 and later: blocks 0 and 1
    # read exactly as before, the later ones less so (measured 0.891 and 0.715 on these tokens)
    twin = layer_similarity(lang_model, load_model("zoo:twin-head", device="cpu"), rows)
    assert all(twin.values[i][i] > 1 - 1e-6 for i in range(3)) and twin.values[4][4] < 0.9, twin.values
    assert twin.best_match() == twin.layers_a
    # a random-weights twin: the embedding still tells tokens apart (0.72: both separate the same tokens), the
    # residual stream after the blocks shares little with the trained one (measured 0.23 and 0.12 after blocks 2, 3)
    before = [p.detach().clone() for p in lang_model.parameters()]
    noise = layer_similarity(lang_model, random_twin(lang_model), rows)
    assert all(torch.equal(a, b) for a, b in zip(before, lang_model.parameters()))  # the model is untouched
    assert noise.values[0][0] > 0.5 and max(noise.values[3][3], noise.values[4][4]) < 0.4, noise.values
    chance = noise.chance[4][4]  # what the same two layers score with the tokens shuffled
    assert 0 < chance < noise.values[4][4] < own.values[4][4] and chance < 0.3, (chance, noise.values[4][4])
    path = save_json(noise, tmp_path / "cka.json")
    back = load_json(LayerSimilarity, path)
    assert back.layers_b == noise.layers_b and abs(back.values[3][3] - noise.values[3][3]) < 1e-4


def test_models_that_read_different_tokens_are_refused(lang_model, induction_model):
    rows = _rows(lang_model)
    with pytest.raises(ValueError, match=r"CKA compares two models token by token.*share a tokenizer"):
        layer_similarity(lang_model, induction_model, rows)
    with pytest.raises(ValueError, match="at least 2 positions"):
        layer_similarity(lang_model, lang_model, rows[:, :1])


@pytest.mark.real
def test_smollm2_against_itself_random_weights_and_the_zoo():
    from interp.loading.model import load_model

    model = load_model("zoo:smollm2-135m", device="cpu")
    rows = _rows(model, n_rows=4, n_pos=16)
    own = layer_similarity(model, model, rows)
    assert len(own.layers_a) == 31 and all(abs(own.values[i][i] - 1) < 1e-9 for i in range(31))
    noise = layer_similarity(model, random_twin(model), rows)
    assert noise.model_b == "zoo:smollm2-135m (random weights)"
    # measured at most 0.127 on these 60 tokens (CKA is biased upwards with fewer tokens than dimensions: 576 here),
    # 0.012 on 2,016 (docs/comparing.md)
    assert max(noise.diagonal()[13:]) < 0.3, noise.diagonal()
    # roles, not weights: SmolLM2 against the zoo's lang-4l (other tokenizer, width and depth)
    roles = compare_roles(model, load_model("zoo:lang-4l", device="cpu"), n_prompts=4, ioi_prompts=4)
    assert roles.roles[-1] == "ioi" and all(0 <= d <= 1 for d in roles.side("ioi")[0].depths)
    assert roles.side("previous_token")[0].heads and roles.side("induction")[0].heads  # SmolLM2 has both


def test_roles_of_known_circuits_and_of_a_model_against_itself(lang_model, induction_model):
    from interp.loading.model import load_model

    kc = load_model("zoo:kc-induction", device="cpu")  # set by hand: L0H0 previous-token head, L1H0 induction head
    seen = []
    roles = compare_roles(kc, induction_model, progress=lambda done, total: seen.append(done))
    assert seen == [1, 2, 3, 4]
    assert roles.roles == ("previous_token", "duplicate_token", "induction")  # neither can do IOI: no ioi role
    assert len(roles.notes) == 1 and roles.notes[0].startswith("no IOI role")
    known, _ = roles.side("induction")
    assert known.heads[0] == "L1H0" and known.depths[0] == 1.0 and roles.side("previous_token")[0].heads[0] == "L0H0"
    assert roles.side("induction")[1].heads  # induction-2l is trained to induct: it has induction heads
    seen = []
    same = compare_roles(lang_model, lang_model, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 4) for i in range(1, 5)]
    assert same.roles[-1] == "ioi" and not same.notes
    for role in same.roles:
        a, b = same.side(role)
        assert a.heads == b.heads and a.scores == b.scores
    assert len(same.side("ioi")[0].heads) == same.ioi_top
    noise = compare_roles(lang_model, random_twin(lang_model))
    assert [n for n in noise.notes if "(random weights) does not do IOI" in n]  # its ioi heads are flagged as noise
    assert all(not noise.side(role)[1].heads for role in ("previous_token", "induction"))
    with pytest.raises(ValueError, match="threshold"):
        compare_roles(lang_model, lang_model, threshold=0)


def test_compare_command(tmp_path, capsys):
    from interp.cli import main

    out = tmp_path / "cmp"
    args = ["compare", "zoo:lang-4l", "zoo:twin-head", "--device", "cpu", "--tokens", "512", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "linear CKA, zoo:lang-4l (rows) vs zoo:twin-head (columns)" in printed
    assert "head roles, zoo:lang-4l | zoo:twin-head" in printed and "ioi:" in printed
    result = json.loads((out / "result.json").read_text())
    assert result["layers_a"] == ["embed", "L0", "L1", "L2", "L3"] and (out / "cka.html").stat().st_size > 1000
    assert load_json(RoleComparison, out / "roles.json").roles[-1] == "ioi" and (out / "roles.html").is_file()
    # different tokenizers: the roles compare, CKA is left out with the reason
    other = tmp_path / "other"
    assert main(["compare", "zoo:lang-4l", "zoo:induction-2l", "--device", "cpu", "--out", str(other)]) == 0
    assert "no CKA: CKA compares two models token by token" in capsys.readouterr().err
    assert (other / "roles.json").is_file() and not (other / "result.json").exists()
