"""Zoo models whose circuit is known by construction (interp.zoo.handmade): they rebuild from their seed, do
their task, and do it through their mechanism, not their distractors; their cards list the true edges."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from interp.core.hooks import hooks, run_with_cache
from interp.core.interventions import MeanAblate, SetHeads, Zero
from interp.loading.model import load_model
from interp.loading.spec import defaults_for
from interp.tasks.evaluate import evaluate_task
from interp.tasks.generators import induction_resample_task, lookup_task, make_task
from interp.training.card import write_card
from interp.zoo import ZOO, known_edges
from interp.zoo.corpus import LOOKUP_FILLERS, LOOKUP_TABLE
from interp.zoo.handmade import HANDMADE, build_handmade_model, distractors, handmade_state_dict
from interp.zoo.known import KNOWN_CIRCUITS, circuit_section
from tests.tolerances import assert_f32_close

TRUE_EDGES = {
    "kc-induction": ("embed -> L0H0.v", "L0H0 -> L1H0.k", "embed -> L1H0.q", "embed -> L1H0.v", "L1H0 -> logits"),
    "kc-lookup": ("embed -> MLP0", "MLP0 -> L1H0.v", "L1H0 -> logits"),
}
SEED = 4242  # prompts neither card used


@pytest.fixture(scope="module")
def models():
    return {name: load_model(f"zoo:{name}", device="cpu") for name in HANDMADE}


def _task(name, model, n_prompts=64):
    return make_task(defaults_for(f"zoo:{name}").task, model, n_prompts=n_prompts, seed=SEED)


def _site(part):
    """("blocks.L.attn.hook_z", head) for "L{l}H{h}", ("blocks.L.hook_mlp_out", None) for "MLP{l}"."""
    if part.startswith("MLP"):
        return f"blocks.{part[3:]}.hook_mlp_out", None
    layer, head = part[1:].split("H")
    return f"blocks.{layer}.attn.hook_z", int(head)


def _zeroed(model, task, parts):
    zeros = torch.zeros(1, task.n_pos, model.cfg.n_heads, model.cfg.d_head)
    fwd = []
    for part in parts:
        name, head = _site(part)
        fwd.append((name, Zero() if head is None else SetHeads(zeros, (head,))))
    with hooks(model, fwd):
        return evaluate_task(model, task)


def _mean_ablated(model, task, parts):
    names = sorted({_site(p)[0] for p in parts})
    _, cache = run_with_cache(model, task.clean_tokens, names)
    fwd = []
    for part in parts:
        name, head = _site(part)
        fwd.append((name, MeanAblate(cache[name].mean(0, keepdim=True), heads=None if head is None else (head,))))
    with hooks(model, fwd):
        return evaluate_task(model, task)


@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_rebuilds_identically_from_its_seed(name, tmp_path):
    shipped = load_file(ZOO[name].folder / "model.safetensors")
    first, again = handmade_state_dict(name), handmade_state_dict(name)
    # exact within one process: the same seed through the same kernels
    assert first.keys() == again.keys() and all(torch.equal(first[k], again[k]) for k in first)
    # the shipped weights, up to the last bits in which torch's normal sampler rounds otherwise on other CPU
    # kernels (ATEN_CPU_CAPABILITY=default: up to 4 eps of a tensor's largest weight; docs/testing.md)
    assert first.keys() == shipped.keys()
    for k in first:
        assert_f32_close(first[k], shipped[k], depth=16, msg=k)
    report = build_handmade_model(name, out_dir=tmp_path)
    assert report.n_params == sum(v.numel() for v in shipped.values())
    assert (tmp_path / "config.json").read_text() == (ZOO[name].folder / "config.json").read_text()
    assert (tmp_path / "tokenizer" / "tokenizer.json").read_text() == (
        ZOO[name].folder / "tokenizer" / "tokenizer.json"
    ).read_text()


def test_zoo_train_rebuilds_a_handmade_model(tmp_path, capsys):
    from interp.cli import main

    assert main(["zoo", "train", "kc-lookup", "--out", str(tmp_path)]) == 0
    assert "built kc-lookup by hand" in capsys.readouterr().out
    shipped = ZOO["kc-lookup"].folder
    # the shipped file's weights (it holds nothing else), as in test_rebuilds_identically_from_its_seed
    built, kept = load_file(tmp_path / "model.safetensors"), load_file(shipped / "model.safetensors")
    assert built.keys() == kept.keys()
    for k in built:
        assert_f32_close(built[k], kept[k], depth=16, msg=k)
    assert json.loads((tmp_path / "card.json").read_text())["true_edges"] == list(TRUE_EDGES["kc-lookup"])


@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_does_its_task_through_its_mechanism(name, models):
    model = models[name]
    task = _task(name, model)
    clean = evaluate_task(model, task)
    ld = clean.mean_clean_logit_diff
    # by construction the answer's logit is unembed_scale (10) above the wrong one's, give or take the distractors
    assert clean.clean_accuracy == 1.0 and 8 < ld < 12 and min(clean.clean_logit_diff) > 5, (name, ld)
    assert clean.corrupted_accuracy == 0.0 and clean.mean_corrupted_logit_diff < -8

    # without L1H0 nothing carries the answer: the logit difference is the distractors' noise around 0
    zeroed = _zeroed(model, task, ["L1H0"])
    assert abs(zeroed.mean_clean_logit_diff) < 0.5 and zeroed.clean_accuracy < 0.2, (name, zeroed)

    # every distractor at its mean: the mechanism alone does the task
    ablated = _mean_ablated(model, task, distractors(name))
    assert ablated.clean_accuracy == 1.0 and abs(ablated.mean_clean_logit_diff - ld) < 1, (name, ablated)


@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_distractors_matter_a_little(name, models):
    """Edges outside the circuit must not score exactly 0, or a benchmark on these models would be too easy."""
    model = models[name]
    task = _task(name, model, n_prompts=32)
    base = torch.tensor(evaluate_task(model, task).clean_logit_diff)
    for part in distractors(name):
        moved = (torch.tensor(_zeroed(model, task, [part]).clean_logit_diff) - base).abs().mean()
        assert 0.02 < moved < 1.0, (part, float(moved))


def test_kc_induction_heads_attend_as_built(models):
    model = models["kc-induction"]
    task = _task("kc-induction", model, n_prompts=8)
    _, cache = run_with_cache(model, task.clean_tokens, ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"])
    prev = cache["blocks.0.attn.hook_pattern"][:, 0]  # batch query key
    pos = torch.arange(1, task.n_pos)
    # a score margin of 8 over at most 31 other keys: at least 1 / (1 + 31 e^-8) = 0.9897 (measured 0.995-0.9997)
    assert (prev[:, pos, pos - 1] > 0.989).all()  # L0H0: the previous token
    induction = cache["blocks.1.attn.hook_pattern"][:, 0, -1]  # from the last position, A_{L-2}
    assert (induction[:, task.n_pos // 2] > 0.989).all()  # L1H0: the token after its first occurrence, A_{L-1}


def test_induction_resample_prompts(models):
    task = induction_resample_task(models["kc-induction"], n_prompts=16, seq_len=6, seed=1)
    assert task.name == "induction-resample" and task.clean_tokens.shape == (16, 12)  # BOS + 6 + 5
    assert (task.metric_pos == 11).all()
    rows = zip(task.clean_tokens, task.corrupted_tokens, task.answer_tokens, task.wrong_tokens)
    for clean, bad, answer, wrong in rows:
        for row, last in ((clean, answer), (bad, wrong)):
            seq = row[1:7]
            assert row[0] == 0 and torch.equal(row[7:], seq[:-1]) and last == seq[-1]
            assert len(set(seq.tolist())) == 6 and 0 not in seq.tolist()
        assert not set(clean.tolist()[1:]) & set(bad.tolist()[1:])  # every token differs, only positions are shared
    with pytest.raises(ValueError, match="two disjoint sequences"):
        induction_resample_task(models["kc-induction"], seq_len=15)  # 30 > the 29 words


def test_lookup_prompts(models):
    model = models["kc-lookup"]
    task = lookup_task(model, n_prompts=32, n_filler=5, seed=2)
    word = lambda i: model.tokenizer.decode([int(i)])  # noqa: E731
    assert task.name == "lookup" and task.clean_tokens.shape == (32, 7)  # BOS, key, 5 fillers
    rows = zip(task.clean_tokens, task.corrupted_tokens, task.answer_tokens, task.wrong_tokens)
    for clean, bad, answer, wrong in rows:
        assert (clean != bad).nonzero().flatten().tolist() == [1]  # only the key differs
        assert word(answer) == LOOKUP_TABLE[word(clean[1])] and word(wrong) == LOOKUP_TABLE[word(bad[1])]
        assert all(word(t) in LOOKUP_FILLERS for t in clean[2:])
    with pytest.raises(ValueError, match="the lookup task needs the words of its table"):
        lookup_task(models["kc-induction"])


@pytest.mark.parametrize("name", sorted(HANDMADE))
def test_cards_list_the_true_edges(name, models, tmp_path):
    assert known_edges(f"zoo:{name}") == known_edges(name) == TRUE_EDGES[name] == KNOWN_CIRCUITS[name].true_edges
    assert KNOWN_CIRCUITS[name].task == defaults_for(f"zoo:{name}").task
    # the shipped card is what the card writer writes now
    folder = tmp_path / name
    shutil.copytree(ZOO[name].folder, folder)
    write_card(name, folder, models[name])
    assert (folder / "CARD.md").read_text() == (ZOO[name].folder / "CARD.md").read_text()
    assert (ZOO[name].folder / "CARD.md").read_text().endswith("\n" + circuit_section(name))


def test_induction_2l_card_keeps_its_known_circuit(induction_model, tmp_path):
    prev, ind = ("L0H0", "L0H1", "L0H3"), ("L1H0", "L1H1", "L1H2", "L1H3")
    expected = {
        *(f"embed -> {h}.v" for h in prev),
        *(f"{p} -> {i}.k" for p in prev for i in ind),
        *(f"embed -> {i}.q" for i in ind),
        *(f"embed -> {i}.v" for i in ind),
        *(f"{i} -> logits" for i in ind),
    }
    edges = known_edges("induction-2l")
    assert len(edges) == len(expected) == 27 and set(edges) == expected
    shipped = ZOO["induction-2l"].folder
    assert "exact edge patching" in circuit_section("induction-2l")
    assert (shipped / "CARD.md").read_text().endswith("\n" + circuit_section("induction-2l"))
    # rewriting the card (what a retrain ends with) keeps the section and the edges
    folder = tmp_path / "induction-2l"
    shutil.copytree(shipped, folder)
    write_card("induction-2l", folder, induction_model)
    assert (folder / "CARD.md").read_text().endswith("\n" + circuit_section("induction-2l"))
    card = json.loads((folder / "card.json").read_text())
    assert card["true_edges"] == list(edges) and card["true_edges_task"] == "induction-resample"


def test_known_edges_of_a_model_without_them():
    with pytest.raises(ValueError, match=r"zoo:lang-4l has no known circuit .* models with one: zoo:induction-2l"):
        known_edges("lang-4l")
    with pytest.raises(ValueError, match="no zoo model 'nope'"):
        known_edges("zoo:nope")
