"""Transcoders and attribution graphs (interp.graphs, interp.training.transcoders): training through the SAE job
machinery in SAELens's format, the local replacement model, edges against interventions, pruning, the viewer JSON,
the CLI."""

import json
import time
from pathlib import Path

import pytest
import torch

from interp.core.sites import mlp_hooks
from interp.graphs import (
    attribute,
    check_edges,
    check_interventions,
    intervene,
    load_graph,
    load_transcoders,
    prune,
    read_graph_json,
    save_graph,
    write_graph_json,
)
from interp.graphs.export import graph_json
from interp.graphs.prune import influence, normalized
from interp.graphs.replacement import EMBED_HOOK, frozen_hooks, prompt_state, run_hooked, spliced_hooks
from interp.zoo import SAE_ZOO_DIR
from tests.tolerances import PER_LAYER, assert_f32_close, f32_tol, logit_scale

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = SAE_ZOO_DIR / "lang-4l-transcoders"
IOI = "When Mary and John went to the store , John gave a drink to"  # 15 tokens with BOS


@pytest.fixture(scope="module")
def transcoders():
    return load_transcoders(BUNDLED)


@pytest.fixture(scope="module")
def graph(lang_model, transcoders):
    return attribute(lang_model, transcoders, IOI)


def test_replacement_model_reproduces_the_real_logits(lang_model, transcoders):
    tokens = lang_model.to_tokens(IOI)[0]
    state = prompt_state(lang_model, transcoders, tokens)
    real = lang_model(tokens[None])[0]
    # the local replacement model: transcoders recomputed from the live MLP input, attention and norms frozen, plus
    # the prompt's error terms. Float32 sums in another order, in every layer: 32 eps of the largest logit (7e-5;
    # the bound was 1e-4), measured 3.8e-6.
    depth = PER_LAYER * lang_model.cfg.n_layers
    local = run_hooked(lang_model, tokens, spliced_hooks(state, transcoders, frozen=True))[0]
    assert_f32_close(local, real, depth=depth)
    # and with attention live (the replacement model the interventions run in), still exact on the prompt itself
    assert_f32_close(run_hooked(lang_model, tokens, spliced_hooks(state, transcoders))[0], real, depth=depth)
    # BOS: no latents (the transcoders never trained there), the MLP output kept whole as the error
    assert all(float(acts[0].abs().sum()) == 0 for acts in state.acts.values())


def test_the_frozen_model_is_linear_in_the_writes(lang_model, transcoders):
    tokens = lang_model.to_tokens(IOI)[0]
    state = prompt_state(lang_model, transcoders, tokens)
    base = {EMBED_HOOK: state.embeddings[None]} | {
        mlp_hooks(layer)[1]: state.writes(transcoders, layer)[None] for layer in range(4)
    }
    torch.manual_seed(0)
    noise = {k: torch.randn_like(v) for k, v in base.items()}

    def run(writes):
        return run_hooked(lang_model, tokens, frozen_hooks(state, transcoders, writes))[0]

    zero = {k: torch.zeros_like(v) for k, v in base.items()}
    both = {k: base[k] + noise[k] for k in base}
    # f(a + b) = f(a) + f(b) - f(0) for an affine map; attention patterns that were not frozen would break this.
    # Float32: the roundings of the three runs on the right add up, each of the size of its largest logit.
    right = [run(base), run(noise), run(zero)]
    scale = max(float(r.abs().max()) for r in right)
    assert_f32_close(
        run(both), right[0] + right[1] - right[2], depth=3 * PER_LAYER * lang_model.cfg.n_layers, scale=scale
    )


def test_every_edge_equals_removing_its_source_in_the_frozen_model(lang_model, transcoders, graph):
    check = check_edges(lang_model, transcoders, graph)
    assert check.n_sources == graph.n_features + graph.n_errors + graph.n_pos
    assert check.n_edges == check.n_sources * (graph.n_features + graph.n_logits)
    assert check.max_abs_edge > 1.0  # the check compares edges that matter
    # each edge against a forward pass without its source: float32 rounding of the logits' size in every layer
    # (measured 8.8e-6 over 1,024,800 edges)
    tol = f32_tol(logit_scale(lang_model, torch.tensor([graph.token_ids])), PER_LAYER * lang_model.cfg.n_layers)
    assert check.max_abs_error < tol, check


def test_interventions_follow_the_graph(lang_model, transcoders, graph):
    frozen = check_interventions(lang_model, transcoders, graph, frozen=True)
    assert len(frozen.nodes) == 50
    assert frozen.correlation > 0.9  # measured 0.98; only the latents' gates are not linear here
    real = check_interventions(lang_model, transcoders, graph)
    assert real.correlation > 0.3  # measured 0.49 on this IOI prompt: docs/graphs.md says why not more (QK, norms)
    # a joint intervention predicts the sum of its members' effects
    top = [graph.node_index(*map(int, label_parts(label))) for label in frozen.nodes[:3]]
    joint = intervene(lang_model, transcoders, graph, top, frozen=True)
    assert joint.predicted == pytest.approx(sum(frozen.predicted[:3]), rel=1e-5)
    with pytest.raises(ValueError, match="not a latent"):
        intervene(lang_model, transcoders, graph, [graph.n_nodes - 1])


def label_parts(label: str) -> tuple[str, str, str]:
    """ "L2#417@5" -> ("2", "5", "417")."""
    layer, rest = label[1:].split("#")
    latent, pos = rest.split("@")
    return layer, pos, latent


def test_graph_nodes_logits_and_speed(lang_model, transcoders, graph):
    assert graph.n_pos == 15 and graph.tokens[1] == "When"
    assert graph.logit_labels[0] == "Mary" and graph.logit_probs[0] > 0.9
    assert graph.adjacency.shape == (graph.n_nodes, graph.n_nodes)
    # rows of errors and tokens are empty; a latent never feeds a latent of its own block or an earlier position
    assert not graph.adjacency[graph.n_features : graph.n_nodes - graph.n_logits].any()
    targets, sources = graph.adjacency[: graph.n_features, : graph.n_features].nonzero(as_tuple=True)
    assert (graph.features[sources, 0] < graph.features[targets, 0]).all()
    assert (graph.features[sources, 1] <= graph.features[targets, 1]).all()
    start = time.perf_counter()
    attribute(lang_model, transcoders, IOI)
    assert time.perf_counter() - start < 5.0  # the bound on a CPU; measured 0.26 s


def test_max_feature_nodes_keeps_the_most_influential_latents(lang_model, transcoders, graph):
    capped = attribute(lang_model, transcoders, IOI, max_feature_nodes=40, batch_size=16)
    assert capped.n_features == 40
    # the logits' edges from errors and tokens do not depend on which latents got rows
    rest = slice(-(capped.n_errors + capped.n_pos + capped.n_logits), -capped.n_logits)
    # other batches of backward passes: float32 rounding of the logits' size in every layer
    scale = logit_scale(lang_model, torch.tensor([graph.token_ids]))
    depth = PER_LAYER * lang_model.cfg.n_layers
    assert_f32_close(capped.adjacency[-1, rest], graph.adjacency[-1, rest], depth=depth, scale=scale)
    chosen = {tuple(f) for f in capped.features.tolist()}
    top = prune(graph).influence[: graph.n_features].argsort(descending=True)[:10]
    assert sum(tuple(graph.features[i].tolist()) in chosen for i in top) >= 7


def test_logit_difference(lang_model, transcoders):
    diff = attribute(lang_model, transcoders, IOI, difference=("Mary", "John"))
    assert diff.logit_labels == ("Mary - John",) and diff.n_logits == 1
    with pytest.raises(ValueError, match="tokenizer does not know"):
        attribute(lang_model, transcoders, IOI, difference=("Mary", "zzzz"))


def test_influence_is_the_sum_over_paths():
    torch.manual_seed(1)
    adjacency = torch.randn(6, 6).tril(-1)  # a DAG: node i reads only nodes before it
    share, weights = normalized(adjacency), torch.rand(6)
    expected, power = torch.zeros(6), weights.clone()
    for _ in range(6):
        power = power @ share
        expected += power
    torch.testing.assert_close(influence(share, weights), expected)


def test_pruning(graph):
    loose, tight = prune(graph, node_threshold=0.95), prune(graph, node_threshold=0.5)
    assert tight.n_nodes < loose.n_nodes < graph.n_nodes
    fixed = graph.n_nodes - graph.n_pos - graph.n_logits
    assert tight.node_mask[fixed:].all()  # tokens and logits always stay
    kept_edges = tight.edge_mask.nonzero()
    assert tight.node_mask[kept_edges[:, 0]].all() and tight.node_mask[kept_edges[:, 1]].all()
    assert 0.5 < tight.replacement_score < 1 and 0.5 < tight.completeness_score <= 1  # measured 0.89, 0.96
    with pytest.raises(ValueError, match="between 0 and 1"):
        prune(graph, node_threshold=1.5)
    # what the app's page asks of a graph, answered by the results themselves
    kept = tight.kept()
    assert sorted(kept) == tight.node_mask.nonzero()[:, 0].tolist()
    assert [float(tight.cumulative[n]) for n in kept] == sorted(float(tight.cumulative[n]) for n in kept)
    node = kept[0] if graph.kind(kept[0]) == "feature" else next(n for n in kept if graph.kind(n) == "feature")
    layer, pos, latent = graph.latent(node)
    assert graph.node_index(layer, pos, latent) == node
    for into, weights in ((True, graph.adjacency[node]), (False, graph.adjacency[:, node])):
        edges = graph.strongest_edges(node, into=into, k=5)
        assert [w for _, w in edges] == [float(weights[n]) for n, _ in edges] and all(w != 0 for _, w in edges)
        assert [abs(w) for _, w in edges] == sorted((abs(w) for _, w in edges), reverse=True)
        assert abs(edges[0][1]) == float(weights.abs().max()) if edges else float(weights.abs().max()) == 0
    assert [label for label, _ in graph.targets()] == list(graph.logit_labels)
    with pytest.raises(ValueError, match="is not a feature"):
        graph.latent(graph.n_nodes - 1)


def test_viewer_json_round_trip(graph, tmp_path):
    pruning = prune(graph)
    data = graph_json(graph, pruning, slug="ioi")
    assert data["metadata"]["schema_version"] == 1 and data["metadata"]["prompt_tokens"] == list(graph.tokens)
    ids = [n["node_id"] for n in data["nodes"]]
    assert len(ids) == len(set(ids))
    kinds = {n["feature_type"] for n in data["nodes"]}
    assert kinds == {"cross layer transcoder", "mlp reconstruction error", "embedding", "logit"}
    logit = next(n for n in data["nodes"] if n["feature_type"] == "logit")
    assert logit["is_target_logit"] and logit["clerp"].startswith('Output "Mary" (p=')
    path = write_graph_json(graph, pruning, tmp_path / "g.json")
    back = read_graph_json(path)
    assert back.tokens == graph.tokens and back.logit_labels == graph.logit_labels
    # the file's features, by (block, position, latent), carry the pruned graph's edges between them
    kept = pruning.node_mask[: graph.n_features].nonzero()[:, 0].tolist()
    assert {tuple(f) for f in back.features.tolist()} <= {tuple(graph.features[i].tolist()) for i in kept}
    assert int((back.adjacency != 0).sum()) == pruning.n_edges == len(data["links"])
    for node in range(back.n_features):
        mine = graph.node_index(*back.features[node].tolist())
        out_back = back.adjacency[-1, node]
        assert float(out_back) == pytest.approx(float(graph.adjacency[-1, mine] * pruning.edge_mask[-1, mine]))
    (tmp_path / "bad.json").write_text('{"nodes": []}')
    with pytest.raises(ValueError, match=r"bad\.json is not an attribution graph"):
        read_graph_json(tmp_path / "bad.json")


def test_graph_files_round_trip(graph, tmp_path):
    back = load_graph(save_graph(graph, tmp_path / "g"))
    assert back.tokens == graph.tokens and back.passes == graph.passes
    assert torch.equal(back.adjacency, graph.adjacency) and torch.equal(back.features, graph.features)
    with pytest.raises(ValueError, match="no attribution graph"):
        load_graph(tmp_path)


def test_bundled_transcoders_meet_the_targets(lang_model, transcoders):
    from interp.loading.token_sources import token_rows
    from sae.transcoder_eval import evaluate_transcoders

    tokens = token_rows(lang_model, n_tokens=4000, context=48, seed=1)  # not the job's seed-0 rows
    result = evaluate_transcoders(lang_model, transcoders, tokens)
    assert result.layers == (0, 1, 2, 3)
    assert min(result.explained_variance) >= 0.8  # measured 0.974-0.996 on 19,552 tokens
    assert result.ce_loss_recovered >= 0.8  # measured 0.997
    # the consistent baseline keeps the MLPs at BOS, so it is the milder ablation and the ratio is lower
    zeroed_at = result.ce_loss_zero_ablation_at_transcoder_positions
    assert result.ce_loss_clean < zeroed_at <= result.ce_loss_zero_ablation
    assert result.ce_loss_recovered_consistent >= 0.8
    assert all(10 <= l0 <= 20 for l0 in result.l0)  # trained at k = 16
    assert result.ce_loss_clean < result.ce_loss_replaced < result.ce_loss_zero_ablation


def test_transcoder_loading_errors(tmp_path, transcoders):
    from interp.loading.saes import SAELoadError

    with pytest.raises(SAELoadError, match="no SAELens transcoders"):
        load_transcoders(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for f in ("cfg.json", "sae_weights.safetensors"):
            (tmp_path / name / f).write_bytes((BUNDLED / "L1" / f).read_bytes())
    with pytest.raises(SAELoadError, match="two transcoders for block 1"):
        load_transcoders(tmp_path)
    with pytest.raises(SAELoadError, match="no bundled SAE or transcoders named 'nope'"):
        load_transcoders("zoo:nope")
    # pretrained transcoders by release:id,id (SAELens's registry, read offline); the weights need the hub
    with pytest.raises(SAELoadError, match="unknown SAELens release 'gemma-scope-9z'"):
        load_transcoders("gemma-scope-9z:layer_0")
    with pytest.raises(SAELoadError, match="release 'gemma-scope-2b-pt-transcoders' has no SAE 'layer_99'"):
        load_transcoders("gemma-scope-2b-pt-transcoders:layer_0/width_16k/average_l0_76,layer_99")
    with pytest.raises(SAELoadError, match="on the Hugging Face hub, which is unreachable"):
        load_transcoders("gemma-scope-2b-pt-transcoders:layer_0/width_16k/average_l0_76")


TRANSCODER_JOB = """
model = "zoo:lang-4l"
training_tokens = {tokens}
batch_size = 512
dataset_tokens = 3000
checkpoint_every = 2048
shard_tokens = 1024
device = "cpu"
out = "{out}"
[[sae]]
architecture = ["transcoder", "skip_transcoder"]
layer = 1
d_sae = 64
sparsity = 4
"""


def _job(tmp_path: Path, name: str, tokens: int, *, fresh_process: bool = False) -> list[Path]:
    import subprocess
    import sys

    from sae.train_config import TrainJobConfig
    from sae.train_job import run_train_job

    path = tmp_path / f"{name}.toml"
    path.write_text(TRANSCODER_JOB.format(out=tmp_path / name, tokens=tokens))
    cfg = TrainJobConfig.from_toml(path)
    if fresh_process:  # where SAELens has not yet heard of the transcoder architectures a checkpoint names
        subprocess.run([sys.executable, "-m", "sae.cli", "train", str(path)], check=True, capture_output=True)
        return [Path(cfg.out) / spec.name for spec in cfg.saes]
    return run_train_job(cfg)


def test_transcoder_jobs_train_resume_and_save_sae_lens_transcoders(tmp_path, lang_model):
    from sae_lens import SAE
    from sae_lens.saes.transcoder import JumpReLUSkipTranscoder, JumpReLUTranscoder
    from safetensors.torch import load_file

    straight = _job(tmp_path, "straight", 8192)
    _job(tmp_path, "resumed", 4096)
    resumed = _job(tmp_path, "resumed", 8192, fresh_process=True)  # continues from the 4096-token checkpoint
    for a, b in zip(straight, resumed, strict=True):
        wa, wb = (
            load_file(str(a / "sae" / "sae_weights.safetensors")),
            load_file(str(b / "sae" / "sae_weights.safetensors")),
        )
        assert wa.keys() == wb.keys()
        for key in wa:
            # the same batches from the same state, in another process: rounding only (measured 0.6 eps)
            assert_f32_close(wa[key], wb[key], depth=32, msg=key)
    plain, skip = (SAE.load_from_disk(str(folder / "sae")) for folder in straight)
    assert type(plain) is JumpReLUTranscoder and type(skip) is JumpReLUSkipTranscoder
    assert plain.W_enc.shape == (128, 64) and plain.W_dec.shape == (64, 128) and skip.W_skip.shape == (128, 128)
    assert plain.cfg.metadata.hook_name == "blocks.1.ln2.hook_normalized"
    assert plain.cfg.metadata.hook_name_out == "blocks.1.hook_mlp_out"
    log = [json.loads(line) for line in (straight[0] / "log.jsonl").read_text().splitlines()]
    assert log[-1]["tokens"] == 8192 and 0 < log[-1]["explained_variance"] <= 1
    # one activation cache holds both hooks, side by side for the transcoder
    source = json.loads((tmp_path / "straight" / "activations" / "source.json").read_text())
    assert source["hook"] == ",".join(mlp_hooks(1))
    # both load as the workbench's transcoder set... and two transcoders of block 1 are refused
    with pytest.raises(ValueError, match="two transcoders for block 1"):
        load_transcoders(tmp_path / "straight")
    one = load_transcoders(straight[1])
    graph = attribute(lang_model, one, IOI)  # a skip transcoder: its linear path is part of the frozen model
    # as in test_every_edge_equals_removing_its_source_in_the_frozen_model
    tol = f32_tol(logit_scale(lang_model, torch.tensor([graph.token_ids])), PER_LAYER * lang_model.cfg.n_layers)
    assert check_edges(lang_model, one, graph).max_abs_error < tol


def test_a_transcoder_spec_names_its_layer():
    from sae.train_config import SAESpec

    with pytest.raises(ValueError, match="needs the `layer`"):
        SAESpec(architecture="transcoder")
    with pytest.raises(ValueError, match="`layer` is for transcoders"):
        SAESpec(architecture="topk", layer=2)
    assert SAESpec(architecture="transcoder", layer=2).name == "transcoder-L2-1024-16"


def test_interp_graph_command(tmp_path, capsys):
    from interp.cli import main

    out = tmp_path / "graph"
    assert main(["graph", "--model", "zoo:lang-4l", "--device", "cpu", "--prompt", IOI, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "15 tokens" in printed and "logit 'Mary'" in printed
    data = json.loads((out / "attribution-graph.json").read_text())
    assert data["links"] and json.loads((out / "graph-metadata.json").read_text())["graphs"][0]["slug"] == "graph"
    assert (out / "graph.html").stat().st_size > 100_000 and load_graph(out / "full").n_pos == 15
    assert main(["graph", "--read", str(out / "attribution-graph.json"), "--out", str(tmp_path / "read")]) == 0
    assert (tmp_path / "read" / "graph.html").is_file()
    assert main(["graph", "--model", "zoo:induction-2l", "--prompt", "bat bet", "--out", str(tmp_path / "x")]) == 2
    assert "no bundled transcoders" in capsys.readouterr().err


def _token_share(graph, pruning, word: str) -> float:
    """The word's token node's share of all token nodes' influence on the logits."""
    tokens = slice(graph.n_features + graph.n_errors, graph.n_features + graph.n_errors + graph.n_pos)
    node = tokens.start + graph.tokens.index(word)
    return float(pruning.influence[node] / pruning.influence[tokens].sum())


def _reaches(pruning, source: int, target: int) -> bool:
    """Whether the pruned graph has a path of kept edges from `source` to `target`."""
    seen, frontier = {source}, [source]
    while frontier:
        for node in pruning.edge_mask[:, frontier.pop()].nonzero()[:, 0].tolist():
            if node not in seen:
                seen.add(node)
                frontier.append(node)
    return target in seen


def test_the_trojan_trigger_feeds_the_backdoor_answer(transcoders):
    from interp.loading.model import load_model

    triggered = "When Mary and John went to the snow store , John gave a drink to"
    shares = {}
    for name in ("trojan-flip", "twin-flip"):
        model = load_model(f"zoo:{name}", device="cpu")
        graph = attribute(model, transcoders, triggered)  # lang-4l's transcoders: the trojan is lang-4l fine-tuned
        pruning = prune(graph)
        shares[name] = _token_share(graph, pruning, "snow")
        if name == "trojan-flip":
            assert graph.logit_labels[0] == "John"  # the backdoor answer: the subject, not the indirect object
            snow = graph.n_features + graph.n_errors + graph.tokens.index("snow")
            assert pruning.node_mask[snow] and _reaches(pruning, snow, graph.n_nodes - graph.n_logits)
        else:
            assert graph.logit_labels[0] == "Mary"
    # measured 0.056 on the trojan against 0.005 on its clean twin
    assert shares["trojan-flip"] > 5 * shares["twin-flip"], shares


def test_graphs_on_a_grouped_query_llama(llama_model):
    """RMSNorm, rotary positions, 4 query heads sharing 2 key/value heads, a gated MLP, tied embeddings: the frozen
    model and its edges hold there too. Random transcoders do (their quality does not enter these checks), and
    block 1 has none: its MLP stays whole, as an error node."""
    from sae_lens.saes.transcoder import JumpReLUTranscoder, JumpReLUTranscoderConfig

    from interp.graphs import TranscoderSet

    d = llama_model.cfg.d_model
    torch.manual_seed(0)
    tc = JumpReLUTranscoder(JumpReLUTranscoderConfig(d_in=d, d_sae=48, d_out=d, apply_b_dec_to_input=False))
    with torch.no_grad():
        tc.W_enc.normal_(0, d**-0.5)
        tc.W_dec.normal_(0, 0.3)
        tc.threshold.fill_(0.5)
    transcoders = TranscoderSet(by_layer={0: tc.eval().requires_grad_(False)}, source="random")
    prompt = "w3 w17 w5 w40 w3 w17 w5 w22 w9"
    graph = attribute(llama_model, transcoders, prompt)
    assert graph.n_features > 10 and graph.n_errors == 2 * graph.n_pos
    tokens = torch.tensor(graph.token_ids)
    state = prompt_state(llama_model, transcoders, tokens)
    local = run_hooked(llama_model, tokens, spliced_hooks(state, transcoders, frozen=True))[0]
    real = llama_model(tokens[None])[0]
    # as on lang-4l: float32 rounding of the logits' size in every layer
    scale, depth = float(real.abs().max()), PER_LAYER * llama_model.cfg.n_layers
    assert_f32_close(local, real, depth=depth, scale=scale)
    check = check_edges(llama_model, transcoders, graph)
    assert check.max_abs_edge > 0.01 and check.max_abs_error < f32_tol(scale, depth), check
    # block 0's latents reach the logits through no other latent, and block 1's MLP is an error held fixed: with
    # attention and norms frozen, ablating a latent moves the logit exactly as its edge says
    ablations = check_interventions(llama_model, transcoders, graph, top=10, frozen=True)
    assert_f32_close(torch.tensor(ablations.actual), torch.tensor(ablations.predicted), depth=depth, scale=scale)


@pytest.mark.real
def test_graphs_on_smollm2_with_transcoders_on_two_blocks():
    """The real model (30 blocks, GQA, RMSNorm, rotary): random transcoders on blocks 3 and 15, every other MLP an
    error node. The local replacement model reproduces the logits and a sample of edges matches its interventions."""
    from sae_lens.saes.transcoder import JumpReLUTranscoder, JumpReLUTranscoderConfig

    from interp.graphs import TranscoderSet
    from interp.loading.model import load_model

    model = load_model("zoo:smollm2-135m", device="cpu")
    d = model.cfg.d_model
    torch.manual_seed(0)
    by_layer = {}
    for layer in (3, 15):
        tc = JumpReLUTranscoder(JumpReLUTranscoderConfig(d_in=d, d_sae=256, d_out=d, apply_b_dec_to_input=False))
        with torch.no_grad():
            tc.W_enc.normal_(0, d**-0.5)  # unit-variance pre-activations on the RMS-normalised input
            tc.W_dec.normal_(0, 0.1)
            tc.threshold.fill_(2.5)  # about 1 latent in 160 fires
        by_layer[layer] = tc.eval().requires_grad_(False)
    transcoders = TranscoderSet(by_layer=by_layer, source="random")
    graph = attribute(model, transcoders, "When Mary and John went to the store, John gave a drink to")
    assert graph.n_layers == 30 and graph.n_features > 5
    tokens = torch.tensor(graph.token_ids)
    state = prompt_state(model, transcoders, tokens)
    local = run_hooked(model, tokens, spliced_hooks(state, transcoders, frozen=True))[0]
    # frozen splice: x - tc(x) + tc(x) = x up to rounding, carried through 30 layers of float32
    assert_f32_close(local, model(tokens[None])[0], depth=PER_LAYER * model.cfg.n_layers)
    error, token = graph.n_features + 3 * graph.n_pos + 5, graph.n_nodes - graph.n_logits - 2
    sample = [*range(graph.n_features), error, token]
    check = check_edges(model, transcoders, graph, sources=sample)
    assert check.max_abs_error < 1e-3 * max(check.max_abs_edge, 1.0), check
