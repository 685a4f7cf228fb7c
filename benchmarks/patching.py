"""Benchmark: our exact and fast activation patching vs transformer_lens.patching, same run, same inputs.

    .venv/bin/python benchmarks/patching.py [--device cpu|cuda] [--models lang,gpt2,smollm2] [--sites resid_pre,z,z_pos]
                                            [--methods exact,fast] [--n-prompts 8] [--smoke]

Also times attribution patching (resid_pre) as a multiple of one clean forward pass. `--sites ""`
runs only that part.

Models: the zoo language model, a randomly initialised model with GPT-2-small's architecture
(12 layers, d_model 768, 12 heads) saved to a temporary folder and loaded like any local
checkpoint (8 prompts of 16 random tokens; the corrupted prompts differ in 3 positions), and the real
SmolLM2-135M (`zoo:smollm2-135m`) on 8 IOI prompts of 15 tokens with the ABC corruption, where it
also measures the SAE activation cache's throughput (at the middle layer's resid_pre, 32 rows of 64 tokens).
Every result is checked equal to the reference before its time is printed. `--smoke` (tests/test_benchmarks.py):
the zoo model and `gpt2-tiny` (GPT-2's architecture at 2 layers, d_model 64, 4 heads) on 2 prompts, every site and
method, with the activation cache measured on the zoo model (8 rows of 16 tokens); it checks in seconds that the
benchmark runs and that every result equals TransformerLens's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from _common import parse

REFERENCE = {
    "resid_pre": "get_act_patch_resid_pre",
    "z": "get_act_patch_attn_head_out_all_pos",
    "z_pos": "get_act_patch_attn_head_out_by_pos",
}
SPECS = {"lang": "zoo:lang-4l", "gpt2": None, "gpt2-tiny": None, "smollm2": "zoo:smollm2-135m"}
GPT2_SHAPES = {"gpt2": {}, "gpt2-tiny": {"n_layer": 2, "n_embd": 64, "n_head": 4}}
"""The random GPT-2 models' GPT2Config arguments: GPT-2 small's shape, and a tiny one for --smoke."""
SMOKE = {"models": "lang,gpt2-tiny", "n_prompts": 2, "cache_models": "lang", "cache_rows": 8, "cache_context": 16}
"""--smoke's sizes (options given on the command line still win)."""
Z_POS_PROMPTS = {"smollm2": 2}
"""z_pos on SmolLM2 is 30 x 9 x 15 patches: TransformerLens's one forward pass per patch would take ~15 min on
8 prompts on a 2-core CPU, so that row runs on the first 2 of the 8 prompts (both sides, same prompts)."""


def make_task(key: str, model, *, n_prompts: int = 8):
    """IOI prompts for the real model (ABC corruption), random tokens for the others."""
    if key == "smollm2":
        from interp.tasks.generators import ioi_task

        return ioi_task(model, n_prompts=n_prompts, corruption="abc", seed=0)
    return random_task(model, n_prompts=n_prompts)


def caching_throughput(model, hook: str, *, n_rows: int = 32, context: int = 64) -> tuple[float, float]:
    """Tokens per second of an SAE activation cache at `hook`: ours (stops after the hook) and a full
    run_with_cache (every layer and the unembedding), on the same random tokens."""
    from interp.observe.activations import collect_activations

    tokens = torch.randint(3, model.cfg.d_vocab, (n_rows, context), generator=torch.Generator().manual_seed(0))
    _, t_ours = timed(collect_activations, model, tokens, hooks=[hook], labels=torch.zeros_like, batch_size=8)
    with torch.no_grad():
        _, t_full = timed(
            lambda: [model.run_with_cache(tokens[i : i + 8], names_filter=hook) for i in range(0, n_rows, 8)]
        )
    return tokens.numel() / t_ours, tokens.numel() / t_full


def gpt2_folder(folder: Path, key: str = "gpt2") -> Path:
    """A randomly initialised GPT-2 of shape GPT2_SHAPES[key], saved to `folder` like any local checkpoint."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from interp.zoo.corpus import save_word_tokenizer

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(**GPT2_SHAPES[key])).save_pretrained(folder)  # random weights
    save_word_tokenizer([f"w{i}" for i in range(100)], folder)  # ids are drawn directly; the tokenizer is for labels
    return folder


def random_task(model, n_prompts: int = 8, n_pos: int = 16, seed: int = 0):
    from interp.tasks.generators import Task

    gen = torch.Generator().manual_seed(seed)
    vocab = min(model.cfg.d_vocab, 50257)
    clean = torch.randint(3, vocab, (n_prompts, n_pos), generator=gen)
    bad = clean.clone()
    bad[:, [3, 7, 11]] = torch.randint(3, vocab, (n_prompts, 3), generator=gen)
    answers, wrongs = torch.randint(3, vocab, (2, n_prompts), generator=gen)
    labels = tuple(tuple(str(int(t)) for t in row) for row in clean)
    task = Task(
        name="random",
        clean_tokens=clean,
        corrupted_tokens=bad,
        answer_tokens=answers,
        wrong_tokens=wrongs,
        metric_pos=torch.full((n_prompts,), n_pos - 1),
        str_tokens=labels,
        corrupted_str_tokens=labels,
    )
    return task.to(model.cfg.device)


def timed(fn, *args, **kwargs):
    """fn(*args, **kwargs) and the seconds it took (GPU work included)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def layer_work(model, task, site: str, clean_cache, corrupted_cache) -> int:
    """Token-layers that denoising `site` must compute at the least (the bound the fast method is held to): a patch
    of layer L whose first changed position is s recomputes layers L.. at positions s.. (at every position on a model
    without a KV cache to start from); a patch that changes nothing, or only after the metric's position, costs
    nothing."""
    try:
        with torch.no_grad():
            model(task.clean_tokens[:1, :2], use_cache=True, return_type="logits_and_cache")
        has_kv = True
    except TypeError:  # TransformerLens-native models take no use_cache
        has_kv = False
    hook = "z" if site.startswith("z") else site
    n_layers, n_pos, work = model.cfg.n_layers, task.n_pos, 0
    for layer in range(n_layers):
        name = f"blocks.{layer}.attn.hook_z" if hook == "z" else f"blocks.{layer}.hook_{hook}"
        differs = (clean_cache[name] != corrupted_cache[name]).cpu()  # [batch, pos, ...]
        differs = differs.flatten(3).any(-1) if hook == "z" else differs.flatten(2).any(-1, keepdim=True)
        for b in range(len(task)):
            changed = differs[b]  # [pos, 1] for resid_pre, [pos, head] for z and z_pos
            for patch_column in range(changed.shape[1]):
                positions = changed[:, patch_column].nonzero().flatten()
                if site in ("resid_pre", "z_pos"):  # one patch per position
                    starts = positions.tolist()
                else:
                    starts = positions[:1].tolist()
                for start in starts:
                    if start <= int(task.metric_pos[b]):
                        work += (n_layers - layer) * (n_pos - (start if has_kv else 0))
    return work


def layer_throughput(model, n_pos: int, rows: int = 128) -> float:
    """Token-layers per second of the model's blocks alone (the unembedding cut to one position, as the fast
    method does), on a batch the size of a large patched pass."""
    from interp.core.hooks import hooks

    tokens = torch.randint(3, min(model.cfg.d_vocab, 50257), (rows, n_pos), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), hooks(model, [("unembed.hook_in", lambda resid, hook=None: resid[:, -1:])]):
        model(tokens[:2])
        _, seconds = timed(model, tokens)
    return rows * n_pos * model.cfg.n_layers / seconds


def main(argv: list[str] | None = None) -> None:
    import transformer_lens.patching as tlp

    from interp.core import metrics
    from interp.loading.model import load_model
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", default="lang,gpt2,smollm2")
    parser.add_argument("--sites", default="resid_pre,z,z_pos")
    parser.add_argument("--methods", default="exact,fast")
    parser.add_argument("--n-prompts", type=int, default=8)
    parser.add_argument("--cache-models", default="smollm2", help="the models whose activation cache is measured")
    parser.add_argument("--cache-rows", type=int, default=32, help="rows of the activation cache's measurement")
    parser.add_argument("--cache-context", type=int, default=64, help="tokens per row of that measurement")
    args = parse(parser, argv, SMOKE)
    rows, attribution, caching = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.models.split(","):
            spec = SPECS[key] or str(gpt2_folder(Path(tmp) / f"{key}-random", key))
            model = load_model(spec, device=args.device)
            full_task = make_task(key, model, n_prompts=args.n_prompts)
            task = full_task
            with torch.no_grad():
                model(task.clean_tokens)  # warm-up
                _, t_fwd = timed(model, task.clean_tokens)
            _, t_attr = timed(attribution_patch, model, task, site="resid_pre")
            attribution.append((key, t_fwd, t_attr))
            if key in args.cache_models.split(","):
                hook = f"blocks.{model.cfg.n_layers // 2}.hook_resid_pre"  # SmolLM2's 30 layers: 15
                sizes = {"n_rows": args.cache_rows, "context": args.cache_context}
                caching.append((key, hook, *caching_throughput(model, hook, **sizes)))
            for site in filter(None, args.sites.split(",")):
                z_pos_prompts = min(Z_POS_PROMPTS.get(key, args.n_prompts), args.n_prompts)
                task = full_task.select(range(z_pos_prompts)) if site == "z_pos" else full_task
                _, clean_cache = model.run_with_cache(task.clean_tokens)
                _, corrupted_cache = model.run_with_cache(task.corrupted_tokens)
                bound = layer_work(model, task, site, clean_cache, corrupted_cache) / layer_throughput(
                    model, task.n_pos
                )

                def metric(logits, task=task):
                    return metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean()

                reference = getattr(tlp, REFERENCE[site])
                ref, t_ref = timed(reference, model, task.corrupted_tokens, clean_cache, metric)
                if site == "z_pos":
                    ref = ref.permute(0, 2, 1)  # TL: layer pos head; ours: layer head pos
                for method in args.methods.split(","):
                    res, t = timed(patch, model, task, site=site, method=method)
                    diff = float((torch.tensor(res.raw) - ref.cpu()).abs().max())
                    assert diff < 1e-4, (key, site, method, diff)
                    rows.append((key, site, len(task), task.n_pos, method, t_ref, t, diff, bound))
                print(f"done {key} {site}", flush=True)
    device = "cuda" if torch.cuda.is_available() and args.device != "cpu" else "cpu"
    print(f"\ndevice: {device}; times in seconds")
    head = f"{'model':<11}{'site':<11}{'prompts':>8}{'tokens':>7}  {'method':<8}{'TL':>9}{'ours':>9}"
    print(f"{head}{'speedup':>9}{'max |diff|':>12}{'bound':>9}{'TL/bound':>10}")
    for key, site, n, n_pos, method, t_ref, t, diff, bound in rows:
        line = f"{key:<11}{site:<11}{n:>8}{n_pos:>7}  {method:<8}{t_ref:>9.2f}{t:>9.2f}{t_ref / t:>8.1f}x{diff:>12.1e}"
        print(f"{line}{bound:>9.2f}{t_ref / bound:>9.1f}x" if method == "fast" else line)
    print(
        "bound: the layer-work fast patching cannot skip (every patch that changes something recomputes its layer and "
        "those after it, from its first changed position on), at the blocks' own throughput on 128 rows"
    )
    print(f"\n{'model':<11}{'one forward':>12}{'attribution (resid_pre)':>25}{'ratio':>8}")
    for key, t_fwd, t_attr in attribution:
        print(f"{key:<11}{t_fwd:>12.3f}{t_attr:>25.3f}{t_attr / t_fwd:>7.1f}x")
    for key, hook, ours, full in caching:
        print(
            f"\nSAE activation cache at {hook} on {key}, {args.cache_rows} x {args.cache_context} tokens: "
            f"{ours:,.0f} tokens/s (stopping after the hook) vs {full:,.0f} tokens/s (a full run_with_cache), "
            f"{ours / full:.2f}x"
        )


if __name__ == "__main__":
    main()
