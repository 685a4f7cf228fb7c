"""Graphs to and from the JSON that circuit-tracer's and Neuronpedia's attribution-graph viewers read.

The format is circuit-tracer's (`create_graph_files`, schema_version 1): `metadata`, `qParams`, `nodes` and
`links`, with node ids "{layer}_{latent}_{position}" for latents, "0_{layer}_{position}" for error nodes,
"E_{token id}_{position}" for tokens and "{n_layers + 1}_{token id}_{last position}" for logits, a latent's
`feature` the Cantor pairing of (layer, latent), and `influence` the node's cumulative-influence rank. Only the
pruned graph is written: the links kept, their nodes, and every token and logit node. Reading a file back gives
the pruned graph as an AttributionGraph (its adjacency holds the links; what the format does not carry, the
logits' read vectors and the unpruned edges, is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from interp.core.limits import check_budget
from interp.results import AttributionGraph, GraphPruning, read_json

__all__ = ["LISTING", "SCHEMA_VERSION", "graph_json", "read_graph_json", "write_graph_json"]

SCHEMA_VERSION = 1
_FEATURE, _ERROR, _EMBEDDING, _LOGIT = "cross layer transcoder", "mlp reconstruction error", "embedding", "logit"


def _cantor(a: int, b: int) -> int:
    return (a + b) * (a + b + 1) // 2 + b


def _uncantor(z: int) -> tuple[int, int]:
    w = int(((8 * z + 1) ** 0.5 - 1) // 2)
    b = z - w * (w + 1) // 2
    return w - b, b


def _node(graph: AttributionGraph, pruning: GraphPruning, node: int) -> dict:
    kind, (layer, pos) = graph.kind(node), graph.where(node)
    base = {"ctx_idx": pos, "token_prob": 0.0, "is_target_logit": False, "run_idx": 0, "reverse_ctx_idx": 0}
    base |= {"clerp": "", "influence": float(pruning.cumulative[node]), "activation": None}
    if kind == "feature":
        latent = int(graph.features[node, 2])
        return base | {
            "node_id": f"{layer}_{latent}_{pos}",
            "feature": _cantor(layer, latent),
            "layer": str(layer),
            "feature_type": _FEATURE,
            "jsNodeId": f"{layer}_{latent}-0",
            "activation": float(graph.activations[node]),
        }
    if kind == "error":
        return base | {
            "node_id": f"0_{layer}_{pos}",
            "feature": -1,
            "layer": str(layer),
            "feature_type": _ERROR,
            "jsNodeId": f"{layer}_{pos}-0",
        }
    if kind == "token":
        token = graph.token_ids[pos]
        return base | {
            "node_id": f"E_{token}_{pos}",
            "feature": pos,
            "layer": "E",
            "feature_type": _EMBEDDING,
            "jsNodeId": f"E_{token}-{pos}",
        }
    k = node - (graph.n_nodes - graph.n_logits)
    vocab, prob = graph.logit_ids[k], float(graph.logit_probs[k])
    return base | {
        "node_id": f"{graph.n_layers + 1}_{vocab}_{pos}",
        "feature": vocab,
        "layer": str(graph.n_layers + 1),
        "feature_type": _LOGIT,
        "token_prob": prob,
        "is_target_logit": k == 0,
        "jsNodeId": f"L_{vocab}-{pos}",
        "clerp": f'Output "{graph.logit_labels[k]}" (p={prob:.3f})',
        "influence": None,
    }


def graph_json(graph: AttributionGraph, pruning: GraphPruning, *, slug: str = "graph") -> dict:
    """The pruned graph in circuit-tracer's viewer format."""
    nodes = {n: _node(graph, pruning, n) for n in range(graph.n_nodes)}
    ids = [nodes[n]["node_id"] for n in range(graph.n_nodes)]
    if len(set(ids)) != len(ids):
        # the format's error ids ("0_{layer}_{pos}") can equal a block-0 latent's: keep every id distinct
        for n in range(graph.n_features, graph.n_features + graph.n_errors):
            nodes[n]["node_id"] += "_error"
    targets, sources = pruning.edge_mask.nonzero(as_tuple=True)
    links = [
        {"source": nodes[s]["node_id"], "target": nodes[t]["node_id"], "weight": float(graph.adjacency[t, s])}
        for t, s in zip(targets.tolist(), sources.tolist(), strict=True)
    ]
    linked = set(targets.tolist()) | set(sources.tolist())
    always = set(range(graph.n_nodes - graph.n_pos - graph.n_logits, graph.n_nodes))
    return {
        "metadata": {
            "slug": slug,
            "scan": graph.transcoders,
            "transcoder_list": [],
            "prompt_tokens": list(graph.tokens),
            "prompt": graph.prompt,
            "node_threshold": pruning.node_threshold,
            "schema_version": SCHEMA_VERSION,
        },
        "qParams": {"pinnedIds": [], "supernodes": [], "linkType": "both", "clickedId": "", "sg_pos": ""},
        "nodes": [nodes[n] for n in sorted(linked | always)],
        "links": links,
    }


LISTING = "graph-metadata.json"
"""Next to the graph files of a folder: {"graphs": [each graph's metadata]}, the index circuit-tracer's viewer reads."""


def write_graph_json(graph: AttributionGraph, pruning: GraphPruning, path: str | Path, *, slug: str = "") -> Path:
    """Write the viewer JSON to `path` and list it (by slug, replacing an entry of the same slug) in the folder's
    LISTING, as circuit-tracer's `create_graph_files` does."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = graph_json(graph, pruning, slug=slug or path.stem)
    path.write_text(json.dumps(data, indent=1) + "\n")
    listing = path.parent / LISTING
    graphs = json.loads(listing.read_text()).get("graphs", []) if listing.is_file() else []
    graphs = [g for g in graphs if g.get("slug") != data["metadata"]["slug"]] + [data["metadata"]]
    listing.write_text(json.dumps({"graphs": graphs}, indent=1) + "\n")
    return path


def read_graph_json(path: str | Path, *, model_name: str = "") -> AttributionGraph:
    """A circuit-tracer / Neuronpedia graph file as an AttributionGraph of its nodes and links. Errors name the
    file and what is wrong with it."""
    path = Path(path)
    try:
        data = read_json(path, "a graph file")
        meta, nodes, links = data["metadata"], data["nodes"], data["links"]
        kinds = {t: [n for n in nodes if n["feature_type"] == t] for t in (_FEATURE, _ERROR, _EMBEDDING, _LOGIT)}
        n_pos = len(meta["prompt_tokens"])
        logits = kinds[_LOGIT]
        n_layers = (
            int(logits[0]["layer"]) - 1
            if logits
            else 1 + max((int(n["layer"]) for n in nodes if n["layer"] != "E"), default=-1)
        )
        features = kinds[_FEATURE]
        latents = [_uncantor(n["feature"]) if meta.get("schema_version", 0) else None for n in features]
        latents = [
            pair if pair is not None else (int(n["layer"]), int(n["node_id"].split("_")[1]))
            for pair, n in zip(latents, features, strict=True)
        ]
        order = {n["node_id"]: i for i, n in enumerate(features)}
        at = len(features)
        for n in kinds[_ERROR]:
            order[n["node_id"]] = at + int(n["layer"]) * n_pos + n["ctx_idx"]
        at += n_layers * n_pos
        token_ids = [0] * n_pos
        for n in kinds[_EMBEDDING]:
            order[n["node_id"]] = at + n["ctx_idx"]
            token_ids[n["ctx_idx"]] = int(n["node_id"].split("_")[1])
        at += n_pos
        for k, n in enumerate(logits):
            order[n["node_id"]] = at + k
        n_nodes = at + len(logits)  # counted from the file: sizes that lie must not allocate terabytes
        check_budget(
            4 * n_nodes * n_nodes,
            what=f"{path}'s {n_nodes:,} nodes as a dense adjacency matrix",
            advice="its sizes are wrong, or the graph needs pruning before it is exported",
        )
        adjacency = torch.zeros(at + len(logits), at + len(logits))
        for link in links:
            adjacency[order[link["target"]], order[link["source"]]] = float(link["weight"])
        labels = tuple(n["clerp"].split('"')[1] if n["clerp"].count('"') >= 2 else str(n["feature"]) for n in logits)
        return AttributionGraph(
            model=model_name,
            transcoders=str(meta.get("scan", "")),
            prompt=str(meta.get("prompt", "")),
            tokens=tuple(meta["prompt_tokens"]),
            token_ids=tuple(token_ids),
            n_layers=n_layers,
            features=torch.tensor(
                [[layer, n["ctx_idx"], latent] for (layer, latent), n in zip(latents, features, strict=True)],
                dtype=torch.long,
            ).reshape(-1, 3),
            activations=torch.tensor([float(n["activation"] or 0.0) for n in features]),
            n_active=len(features),
            logit_labels=labels,
            logit_ids=tuple(int(n["feature"]) for n in logits),
            logit_probs=torch.tensor([float(n["token_prob"]) for n in logits]),
            logit_vectors=torch.zeros(len(logits), 0),
            adjacency=adjacency,
            seconds=0.0,
            passes=f"read from {path.name}",
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as err:
        if isinstance(err, ValueError) and str(err).startswith(str(path)):
            raise
        raise ValueError(f"{path} is not an attribution graph file in circuit-tracer's format ({err!r})") from err
