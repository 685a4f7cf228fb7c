"""Attribution graphs on zoo:lang-4l with its bundled transcoders: time of a 15-token graph, and peak memory against
prompt length (with and without a cap on the latents attributed).

    python benchmarks/graphs.py            # prints two tables; run it alone (timings on 2 shared cores are noisy)

Memory: each row of the table runs in a fresh process, which loads the model, warms up on a 4-token prompt and
then attributes the prompt; "peak memory" is the peak resident size during the graph (Linux's VmHWM, restarted by
writing 5 to /proc/self/clear_refs just before) minus the resident size just before. torch's CPU allocator is not
seen by tracemalloc; this counts every tensor. The stored adjacency is given beside it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IOI = "When Mary and John went to the store , John gave a drink to"


def _prompt(model, n_tokens: int) -> str:
    from interp.core.tokens import known_ids
    from interp.zoo.corpus import lang_documents

    words = " ".join(lang_documents(8, n_words=80, seed=11)).split()
    for n_words in range(n_tokens, 0, -1):  # words of zoo text until the prompt (with BOS) is n_tokens long
        text = " ".join(words[:n_words])
        if 1 + len(known_ids(model, text)) <= n_tokens:
            return text
    raise ValueError(n_tokens)


def main() -> None:
    import torch

    from interp.graphs import attribute, load_transcoders, prune
    from interp.loading.model import load_model
    from interp.zoo import SAE_ZOO_DIR

    torch.set_grad_enabled(False)
    model = load_model("zoo:lang-4l", device="cpu")
    transcoders = load_transcoders(SAE_ZOO_DIR / "lang-4l-transcoders")
    attribute(model, transcoders, IOI)  # warm-up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        graph = attribute(model, transcoders, IOI)
        times.append(time.perf_counter() - start)
    pruning = prune(graph)
    print(
        f"15-token IOI prompt: {graph.n_features} latents, {graph.n_nodes} nodes, {graph.passes}; median "
        f"{statistics.median(times):.3f} s of 5 (min {min(times):.3f}); pruned to {pruning.n_nodes} nodes, "
        f"{pruning.n_edges} edges; replacement {pruning.replacement_score:.3f}, completeness "
        f"{pruning.completeness_score:.3f}"
    )
    print("\n| tokens | latents active | cap | rows attributed | seconds | peak memory (MB) | adjacency (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for cap in (256, 100_000):
        for n in (8, 16, 24, 32, 40, 48):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), str(cap)], capture_output=True, text=True, check=True
            )
            print(out.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def one(n: int, cap: int) -> None:
    """One row of the memory table, in this (fresh) process."""
    import torch

    from interp.graphs import attribute, load_transcoders
    from interp.loading.model import load_model
    from interp.zoo import SAE_ZOO_DIR

    torch.set_grad_enabled(False)
    model = load_model("zoo:lang-4l", device="cpu")
    transcoders = load_transcoders(SAE_ZOO_DIR / "lang-4l-transcoders")
    prompt = _prompt(model, n)
    attribute(model, transcoders, _prompt(model, 4), max_feature_nodes=cap)
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak resident size (VmHWM) restarts from now
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    graph = attribute(model, transcoders, prompt, max_feature_nodes=cap)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM") - before
    print(
        f"| {graph.n_pos} | {graph.n_active} | {cap if cap < 10_000 else 'none'} | {graph.n_features + graph.n_logits} "
        f"| {seconds:.2f} | {peak / 1024:.1f} | {graph.adjacency.numel() * 4 / 2**20:.2f} |"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
