"""Reading mechanisms from the weights (interp.weights), checked against dense products, against the models' own
forward passes, against circuits known by construction, and against the activation-based head scores."""

import json

import pytest
import torch

from interp.core.hooks import run_with_cache
from interp.results import CompositionScores, HeadRoles, load_json, save_json
from interp.weights import (
    composition_scores,
    copying_score,
    head_roles,
    head_weights,
    neuron_memory,
    ov_circuit,
    ov_table,
    positional_qk,
    principal_directions,
    qk_circuit,
    qk_table,
    token_ids,
    token_neighbours,
    virtual_weights,
)
from interp.weights.factored import attention_scale, normalised, rotary_pairs
from interp.weights.vocabulary import check_dense, embedding, full_circuit, unembedding
from tests.tolerances import assert_f32_close


@pytest.fixture(scope="module")
def kc_induction():
    from interp.loading.model import load_model

    return load_model("zoo:kc-induction")


def _dense_score(a, b):
    return float((a @ b).norm() / (a.norm() * b.norm()))


def test_factored_circuits_equal_the_checkpoint_on_a_grouped_query_llama(llama_model, llama_folder):
    """W_QK and W_OV from the factors equal the Hugging Face weights with the RMSNorm scale folded in, each query
    head reading the key/value head it shares."""
    import transformers as T

    hf = T.LlamaForCausalLM.from_pretrained(llama_folder)
    cfg, attn = hf.config, hf.model.layers[1].self_attn
    d_head = cfg.hidden_size // cfg.num_attention_heads
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    scale = hf.model.layers[1].input_layernorm.weight.detach()[:, None]  # folded into the next weights
    for head in range(cfg.num_attention_heads):
        kv = head // group
        w_q = scale * attn.q_proj.weight[head * d_head : (head + 1) * d_head].T.detach()
        w_k = scale * attn.k_proj.weight[kv * d_head : (kv + 1) * d_head].T.detach()
        w_v = scale * attn.v_proj.weight[kv * d_head : (kv + 1) * d_head].T.detach()
        w_o = attn.o_proj.weight[:, head * d_head : (head + 1) * d_head].T.detach()
        assert_f32_close(qk_circuit(llama_model, 1, head).AB, w_q @ w_k.T, depth=cfg.hidden_size)
        assert_f32_close(ov_circuit(llama_model, 1, head).AB, w_v @ w_o, depth=cfg.hidden_size)
    assert head_weights(llama_model, 1)["W_K"].shape == (cfg.num_attention_heads, cfg.hidden_size, d_head)


@pytest.mark.parametrize("fixture", ["llama_model", "lang_model", "induction_model"])
def test_folded_norms_reproduce_the_forward_pass(fixture, request):
    """The circuits act on the normalised residual stream: normalised(resid_pre) @ W_Q + b_Q is the model's own
    hook_q, and the rotation `rotate` applies reproduces its attention pattern (GQA, RMSNorm, LayerNorm, rotary
    of both pairings, learned positions)."""
    model = request.getfixturevalue(fixture)
    tokens = torch.arange(1, 11)[None] % model.cfg.d_vocab
    names = ["blocks.1.hook_resid_pre", "blocks.1.attn.hook_q"]
    _, cache = run_with_cache(model, tokens, names)
    w, b_q = head_weights(model, 1), model.blocks[1].attn.b_Q
    q = torch.einsum("pd,hde->phe", normalised(cache[names[0]][0].float(), model), w["W_Q"])
    q = q if b_q is None else q + b_q.detach().float()
    assert_f32_close(q, cache[names[1]][0].float(), depth=model.cfg.d_model)
    if model.cfg.positional_embedding_type == "rotary":
        assert rotary_pairs(model) == {"llama_model": "half", "induction_model": "adjacent"}[fixture]


def test_composition_scores_equal_dense_products(llama_model, kc_induction):
    for model in (llama_model, kc_induction):
        result = composition_scores(model)
        n = model.cfg.n_heads
        assert len(result.records) == 3 * n * n * (model.cfg.n_layers * (model.cfg.n_layers - 1) // 2)
        w0, w1 = head_weights(model, 0), head_weights(model, 1)
        for a, b in ((0, 0), (1, 3), (3, 2)):
            ov_a = w0["W_V"][a] @ w0["W_O"][a]
            qk_b, ov_b = w1["W_Q"][b] @ w1["W_K"][b].T, w1["W_V"][b] @ w1["W_O"][b]
            dense = {"q": _dense_score(ov_a, qk_b), "k": _dense_score(ov_a, qk_b.T), "v": _dense_score(ov_a, ov_b)}
            for r in result.records:
                if (r.source, r.target) == (f"L0H{a}", f"L1H{b}"):
                    assert r.score == pytest.approx(dense[r.kind], rel=1e-4, abs=1e-6), (r, dense)
        assert all(0.02 < b < 0.2 for b in result.baselines)  # random heads of these shapes: about 1/sqrt(d)
    # one pair's virtual weights: a FactoredMatrix whose relative norm is the pair's score
    pair = virtual_weights(kc_induction, "L0H0", "L1H0", "k")
    norm = float(pair.norm() / (ov_circuit(kc_induction, 0, 0).norm() * qk_circuit(kc_induction, 1, 0).norm()))
    assert norm == pytest.approx(composition_scores(kc_induction).into("L1H0", "k")[0].score, rel=1e-4)
    with pytest.raises(ValueError, match="L0H1 is not in a later layer than L1H0"):
        virtual_weights(kc_induction, "L1H0", "L0H1", "q")


def test_known_circuits_read_from_the_weights(kc_induction):
    """kc-induction: K-composition from the previous-token head is the induction head's largest; the
    previous-token head's positional profile peaks at offset 1; the induction head copies."""
    result = composition_scores(kc_induction)
    into = result.into("L1H0", "k")
    assert into[0].source == "L0H0" and into[0].score > into[1].score + 0.05
    profile = positional_qk(kc_induction, 0, 0, max_offset=8)
    assert max(range(len(profile.scores)), key=profile.scores.__getitem__) == 1
    roles = head_roles(kc_induction, composition=result)
    assert roles.top("previous_token", 1)[0][0] == "L0H0" and roles.top("induction", 1)[0][0] == "L1H0"
    assert roles.copying[roles.heads.index("L1H0")] > 0.99


def test_the_lookup_table_read_from_the_weights():
    """kc-lookup: MLP0's neuron for key k reads k's token and, through the lookup head L1H0's OV circuit,
    promotes the table's value g(k): every entry of the table, from the weights alone."""
    from interp.loading.model import load_model
    from interp.zoo import corpus

    model = load_model("zoo:kc-lookup")
    for neuron, (key, value) in enumerate(corpus.LOOKUP_TABLE.items()):
        memory = neuron_memory(model, 0, neuron, k=2, through="L1H0")
        assert memory.key_tokens[0].strip() == key and memory.promoted[0].strip() == value
    with pytest.raises(ValueError, match="is not after block 1"):
        neuron_memory(model, 1, 0, through="L1H0")


def test_induction_2l_heads_agree_with_head_scores(induction_model):
    """The heads the weights call previous-token and induction heads are those head_scores finds, and the
    previous-token weights are within 0.05 of the measured attention."""
    from interp.observe.heads import head_scores

    roles, measured = head_roles(induction_model), head_scores(induction_model)
    prev = [v for row in measured.score("previous_token") for v in row]
    ind = [v for row in measured.score("induction") for v in row]
    assert {h for h, v in zip(roles.heads, roles.previous_token) if v > 0.3} == {
        h for h, v in zip(roles.heads, prev) if v > 0.3
    }
    assert max(abs(a - b) for a, b in zip(roles.previous_token, prev)) < 0.05  # measured 0.01
    top = {h for h, _ in roles.top("induction", 4)}
    assert top == {h for h, v in zip(roles.heads, ind) if v > 0.5}


def test_token_circuits_equal_the_dense_matrix(lang_model):
    """Top-k rows of the OV and QK circuits over tokens, and the copying score, equal the dense d_vocab x d_vocab
    matrices (small enough to build for zoo:lang-4l)."""
    w = head_weights(lang_model, 2)
    e, u = embedding(lang_model), unembedding(lang_model)
    ov = e @ w["W_V"][1] @ w["W_O"][1] @ u
    sources = token_ids(lang_model, ["Mary", "John", 5])
    table = ov_table(lang_model, 2, 1, sources=sources, k=4)
    assert_f32_close(torch.tensor(table.top_scores), ov[sources].topk(4).values, depth=lang_model.cfg.d_model)
    qk = e @ w["W_Q"][1] @ w["W_K"][1].T @ e.T * attention_scale(lang_model)
    keys = qk_table(lang_model, 2, 1, queries=sources, k=3)
    assert_f32_close(torch.tensor(keys.top_scores), qk[sources].topk(3).values, depth=lang_model.cfg.d_model)
    eig = torch.linalg.eigvals(ov)
    assert copying_score(lang_model, 2, 1) == pytest.approx(float(eig.real.sum() / eig.abs().sum()), abs=1e-4)


def test_representations(lang_model):
    names = token_ids(lang_model, ["Mary", "John"])
    near = token_neighbours(lang_model, names, k=5)
    first_names = {"Alice", "Bob", "Carl", "Dan", "Emma", "Eric", "Grace", "Helen", "Joe", "Kate", "Lucy", "Mark"}
    assert all(len(first_names & set(row)) >= 2 for row in near.neighbours), near.neighbours
    pcs = principal_directions(lang_model, n=3, k=4)
    assert list(pcs.explained) == sorted(pcs.explained, reverse=True) and sum(pcs.explained) < 1


def test_bad_inputs_are_refused_with_what_to_do(lang_model, monkeypatch):
    with pytest.raises(ValueError, match=r"layers 0-3; got layer 4"):
        qk_circuit(lang_model, 4, 0)
    with pytest.raises(ValueError, match=r"heads 0-3 in each layer; got head 9"):
        ov_circuit(lang_model, 0, 9)
    with pytest.raises(ValueError, match=r"neurons 0-511; got neuron 512"):
        neuron_memory(lang_model, 0, 512)
    with pytest.raises(ValueError, match=r"not tokens of .*'zebra-x', 9999"):
        token_ids(lang_model, ["Mary", "zebra-x", 9999])
    monkeypatch.setenv("INTERP_MEMORY_GB", "1")
    with pytest.raises(ValueError, match=r"49,152 x 49,152 matrix would take 9.0 GiB.*restrict it to a token set"):
        check_dense(lang_model, 49152, 49152, what="the full OV circuit")
    monkeypatch.setenv("INTERP_MEMORY_GB", "0.00001")  # 10 kB: lang-4l's 166 x 166 floats (110 kB) do not fit
    with pytest.raises(ValueError, match=r"the OV circuit of L0H1 over 166 tokens as a dense 166 x 166 matrix"):
        full_circuit(lang_model, 0, 1)
    assert full_circuit(lang_model, 0, 1, tokens=token_ids(lang_model, ["Mary", "John"])).shape == (2, 2)


def test_results_round_trip(kc_induction, tmp_path):
    result = composition_scores(kc_induction)
    saved = json.loads(save_json(result, tmp_path / "c.json").read_text())
    assert {"source", "target", "kind", "score"} == set(saved["records"][0])
    assert load_json(CompositionScores, tmp_path / "c.json").records[0].source == result.records[0].source
    roles = head_roles(kc_induction, composition=result)
    assert load_json(HeadRoles, save_json(roles, tmp_path / "r.json")).heads == roles.heads


def test_interp_weights_and_neuron_commands(tmp_path, capsys):
    from interp.cli import main

    assert main(["weights", "--model", "zoo:kc-induction", "--tables", "1", "--out", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert "K-composition: L0H0->L1H0 0.177" in out
    records = json.loads((tmp_path / "w" / "result.json").read_text())["records"]
    assert len(records) == 48 and (tmp_path / "w" / "composition.html").is_file()
    assert main(["neuron", "--model", "zoo:kc-lookup", "--layer", "0", "--neuron", "0", "--through", "L1H0",
                 "--out", str(tmp_path / "n")]) == 0  # fmt: skip
    assert "promotes through L1H0's OV circuit: 'plum'" in capsys.readouterr().out
    assert main(["neuron", "--model", "zoo:kc-lookup", "--layer", "0", "--neuron", "99", "--out",
                 str(tmp_path / "m")]) == 2  # fmt: skip
    assert "neurons 0-31; got neuron 99" in capsys.readouterr().err


@pytest.mark.real
def test_smollm2_read_from_its_weights():
    """SmolLM2 (grouped-query, RMSNorm, rotary base 100,000 from rope_parameters): the rotation reproduces its
    attention pattern; every composition score in seconds; the IOI case study's name mover copies and its negative
    name mover and subject-suppression head write against the token, read at their layers' inputs
    (docs/weights.md: +0.98, -0.86, -0.97)."""
    from interp.loading.model import load_model
    from interp.weights import context_rows
    from interp.weights.factored import rotary_base
    from interp.weights.roles import layer_inputs
    from interp.weights.vocabulary import vocab_loop

    model = load_model("zoo:smollm2-135m")
    assert rotary_pairs(model) == "half" and rotary_base(model) == 100_000
    result = composition_scores(model)
    assert len(result.records) == 3 * 81 * 435 and result.seconds < 30  # measured 2.6 s alone, 2 threads
    strongest = result.top("k", 1)[0]
    assert strongest.score > 3 * result.baseline("k")  # measured 0.18 against 0.042
    seen = layer_inputs(model, context_rows(model, n_rows=32, context=64))
    for head, sign in (("L23H0", 1), ("L24H4", -1), ("L23H3", -1)):
        layer, h = int(head[1:3]), int(head[-1])
        loop = vocab_loop(model, seen[layer].tokens, seen[layer].vectors)
        assert sign * copying_score(model, layer, h, loop=loop) > 0.5, head
