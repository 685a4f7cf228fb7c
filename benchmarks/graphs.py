"""Attribution graphs on zoo:lang-4l with its bundled transcoders: time of a 15-token graph, and peak memory against
prompt length (with and without a cap on the latents attributed).

    python benchmarks/graphs.py            # prints two tables; run it alone (timings on 2 shared cores are noisy)
    python benchmarks/graphs.py --smoke    # one timed graph and one row of the memory table, in seconds

Memory: each row of the table runs in a fresh process (`--one TOKENS CAP`), which loads the model, warms up on a
4-token prompt and then attributes the prompt; "peak memory" is the peak resident size during the graph (Linux's
VmHWM, restarted by writing 5 to /proc/self/clear_refs just before) minus the resident size just before. torch's CPU
allocator is not seen by tracemalloc; this counts every tensor. The stored adjacency is given beside it. `--smoke`
(tests/test_benchmarks.py) times one graph and runs one row: 8 tokens, at most 4 latents attributed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import parse, status_kib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IOI = "When Mary and John went to the store , John gave a drink to"
NO_CAP = 100_000
"""A cap above every latent count: the row attributes every active latent."""
SMOKE = {"repeats": 1, "tokens": [8], "caps": [4]}
"""--smoke's sizes (options given on the command line still win)."""


def _prompt(model, n_tokens: int) -> str:
    from interp.core.tokens import known_ids
    from interp.zoo.corpus import lang_documents

    words = " ".join(lang_documents(8, n_words=80, seed=11)).split()
    for n_words in range(n_tokens, 0, -1):  # words of zoo text until the prompt (with BOS) is n_tokens long
        text = " ".join(words[:n_words])
        if 1 + len(known_ids(model, text)) <= n_tokens:
            return text
    raise ValueError(n_tokens)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed graphs of the IOI prompt (after one warm-up)")
    p.add_argument("--tokens", type=int, nargs="+", default=[8, 16, 24, 32, 40, 48], help="the memory table's lengths")
    p.add_argument("--caps", type=int, nargs="+", default=[256, NO_CAP], help="its caps on the latents attributed")
    p.add_argument("--one", type=int, nargs=2, metavar=("TOKENS", "CAP"), help="one row of the table, in this process")
    args = parse(p, argv, SMOKE)
    with torch.no_grad():  # not set for the process: a test runs --smoke in its own
        if args.one:
            n_tokens, cap = args.one
            one(n_tokens=n_tokens, cap=cap)
        else:
            tables(repeats=args.repeats, tokens=args.tokens, caps=args.caps)


def tables(*, repeats: int, tokens: list[int], caps: list[int]) -> None:
    """The timed IOI graph, then the memory table: a row per cap and length, each in a fresh process."""
    from interp.graphs import attribute, load_transcoders, prune
    from interp.loading.model import load_model
    from interp.zoo import SAE_ZOO_DIR

    model = load_model("zoo:lang-4l", device="cpu")
    transcoders = load_transcoders(SAE_ZOO_DIR / "lang-4l-transcoders")
    attribute(model, transcoders, IOI)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        graph = attribute(model, transcoders, IOI)
        times.append(time.perf_counter() - start)
    pruning = prune(graph)
    print(
        f"15-token IOI prompt: {graph.n_features} latents, {graph.n_nodes} nodes, {graph.passes}; median "
        f"{statistics.median(times):.3f} s of {repeats} (min {min(times):.3f}); pruned to {pruning.n_nodes} nodes, "
        f"{pruning.n_edges} edges; replacement {pruning.replacement_score:.3f}, completeness "
        f"{pruning.completeness_score:.3f}"
    )
    print("\n| tokens | latents active | cap | rows attributed | seconds | peak memory (MB) | adjacency (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for cap in caps:
        for n in tokens:
            done = subprocess.run([sys.executable, __file__, "--one", str(n), str(cap)], capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"--one {n} {cap} failed:\n{done.stderr[-3000:]}")
            print(done.stdout.strip().splitlines()[-1])


def one(*, n_tokens: int, cap: int) -> None:
    """One row of the memory table, in this (fresh) process."""
    from interp.graphs import attribute, load_transcoders
    from interp.loading.model import load_model
    from interp.zoo import SAE_ZOO_DIR

    model = load_model("zoo:lang-4l", device="cpu")
    transcoders = load_transcoders(SAE_ZOO_DIR / "lang-4l-transcoders")
    prompt = _prompt(model, n_tokens)
    attribute(model, transcoders, _prompt(model, 4), max_feature_nodes=cap)
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak resident size (VmHWM) restarts from now
    before = status_kib("VmRSS")
    start = time.perf_counter()
    graph = attribute(model, transcoders, prompt, max_feature_nodes=cap)
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM") - before
    print(
        f"| {graph.n_pos} | {graph.n_active} | {cap if cap < NO_CAP else 'none'} | "
        f"{graph.n_features + graph.n_logits} | {seconds:.2f} | {peak / 1024:.1f} | "
        f"{graph.adjacency.numel() * 4 / 2**20:.2f} |"
    )


if __name__ == "__main__":
    main()
