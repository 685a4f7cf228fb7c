"""Benchmark: one TopK SAE trained on one shared config by the workbench (`sae train`), by SAELens's own runner, and
by EleutherAI's sparsify, each in its own process: tokens per second, peak memory, and the SAE's quality.

    .venv/bin/python benchmarks/sae_peers.py [--training-tokens 204800] [--peers ours,sae_lens,sparsify] [--smoke]

The shared config: SmolLM2-135M (`zoo:smollm2-135m`), the residual stream after block 15 (`blocks.15.hook_resid_post`,
sparsify's hookpoint `layers.15`), the same token rows of `text:fortunes` (64 tokens each, special tokens left out
of training by every side), 2,304 latents, k = 32, batches of 1,024 tokens, Adam at 1e-3, and every token seen
once (`--training-tokens` distinct tokens; `benchmarks/sae_sweep.py` measures re-reading a cache). What each tool
does with that config is its own: the workbench caches the activations (stopping after the hooked block) and also
leaves out the rare "massive activations" (sae.positions); SAELens runs the model into its buffer (it stops after
the hooked block too); sparsify runs the whole model for every batch, decays the learning rate linearly to 0 (its
Adam schedule), and has no auxiliary loss by default where SAELens's TopK (which the workbench trains) has one.

Each side runs in a process of its own, timed from before it loads the model to its trained SAE, its peak memory
the process's maximum resident set. sparsify runs in its own virtual environment, which this script creates under
`--out` (pip from the package index) on top of the project's: its requirements pin nothing that conflicts with
ours, so a .pth line lends it our torch and transformers and it installs only itself, natsort and schedulefree,
leaving the project's environment untouched. Its SAE is converted to SAELens's format (the same encoder,
`relu(W_enc (x - b_dec) + b_enc)` then the top k), and every SAE is evaluated by `sae.evaluation.evaluate_sae` on
the same held-out tokens. Before any time is printed, the activations sparsify reads (Hugging Face's
`hidden_states`) are checked equal to the hook the others read, on the same rows.

`--smoke` runs the workbench and SAELens on zoo:lang-4l with a few thousand tokens (seconds; the test suite runs
it). sparsify needs a Hugging Face model and a network install, so it is left out of the smoke mode.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import parse, status_kib

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

SPARSIFY = ("eai-sparsify==1.3.3", "natsort==8.4.0", "schedulefree==1.4.1")
"""sparsify and the two requirements the project's environment lacks (the rest it lends through the .pth line)."""
PEERS = ("ours", "sae_lens", "sparsify")
SMOKE = {
    "model": "zoo:lang-4l", "layer": 2, "d_sae": 256, "k": 8, "context": 32, "batch_size": 256,
    "training_tokens": 4096, "eval_tokens": 1024, "peers": "ours,sae_lens",
}  # fmt: skip
"""--smoke's sizes (options given on the command line still win)."""


def arguments(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="zoo:smollm2-135m")
    p.add_argument("--layer", type=int, default=15, help="the SAE reads the residual stream after this block")
    p.add_argument("--d-sae", type=int, default=2304)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=1024, help="tokens per training step")
    p.add_argument("--training-tokens", type=int, default=204_800)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-tokens", type=int, default=20_000, help="0: time and memory only, no evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--side", choices=PEERS, help=argparse.SUPPRESS)  # a child process: train one side and exit
    args = parse(p, argv, SMOKE, name="sae-peers", smoke_help="zoo:lang-4l, a few thousand tokens, no sparsify")
    unknown = set(args.peers.split(",")) - set(PEERS)
    if unknown:
        p.error(f"unknown peers {sorted(unknown)}; choose from {', '.join(PEERS)}")
    return args


def hook(args) -> str:
    return f"blocks.{args.layer}.hook_resid_post"


def training_rows(model, args):
    """The shared token rows: --training-tokens tokens of the model's default text (its corpus for a zoo model)."""
    from interp.loading.token_sources import token_rows

    return token_rows(model, n_tokens=args.training_tokens, context=args.context, seed=args.seed)


def heldout_rows(model, args):
    """Held-out rows: a named text's held-out split, else the zoo corpus drawn with another seed."""
    from interp.loading.spec import parse_spec
    from interp.loading.token_sources import token_rows
    from interp.zoo import ZOO

    text = ZOO[parse_spec(args.model).zoo].defaults.text if parse_spec(args.model).zoo else ""
    source = f"{text}/heldout" if text.startswith("text:") else None
    return token_rows(model, n_tokens=args.eval_tokens, context=args.context, dataset=source, seed=args.seed + 1)


def train_ours(args, folder: Path) -> Path:
    from sae.train_config import SAESpec, TrainJobConfig
    from sae.train_job import run_train_job

    cfg = TrainJobConfig(
        model=args.model,
        hook=hook(args),
        saes=(SAESpec(architecture="topk", d_sae=args.d_sae, sparsity=args.k, lr=args.lr),),
        training_tokens=args.training_tokens,
        batch_size=args.batch_size,
        dataset_tokens=args.training_tokens,
        context=args.context,
        shard_tokens=max(args.batch_size, 50_000),
        checkpoint_every=args.training_tokens,
        device="cpu",
        seed=args.seed,
        out=str(folder / "job"),
    )
    (sae_folder,) = run_train_job(cfg)
    return sae_folder / "sae"


def train_sae_lens(args, folder: Path) -> Path:
    from sae_sweep import sae_lens_runner

    from interp.loading.model import load_model

    model = load_model(args.model, device="cpu")
    sae = sae_lens_runner(
        model=model, model_spec=args.model, hook=hook(args), d_sae=args.d_sae, k=args.k,
        tokens=training_rows(model, args), training_tokens=args.training_tokens, batch_size=args.batch_size,
        lr=args.lr, seed=args.seed, device="cpu", exclude_special_tokens=True,
    )  # fmt: skip
    sae.save_inference_model(str(folder / "sae"))
    return folder / "sae"


def train_sparsify(args, folder: Path) -> Path:
    """sparsify's Trainer on the Hugging Face model, the shared rows as its dataset (run in sparsify's venv)."""
    import datasets
    import torch
    from sparsify import SaeConfig, TrainConfig, Trainer
    from transformers import AutoModelForCausalLM

    spec = json.loads((folder / "inputs.json").read_text())
    rows = torch.load(folder / "rows.pt")
    model = AutoModelForCausalLM.from_pretrained(spec["hf_folder"], dtype=torch.float32)
    cfg = TrainConfig(
        SaeConfig(num_latents=args.d_sae, k=args.k),
        batch_size=args.batch_size // args.context,
        optimizer="adam",
        lr=args.lr,
        lr_warmup_steps=0,
        exclude_tokens=spec["special_ids"],
        hookpoints=[f"layers.{args.layer}"],
        log_to_wandb=False,
        save_every=10**9,
        save_dir=str(folder / "checkpoints"),
    )
    torch.manual_seed(args.seed)
    trainer = Trainer(cfg, datasets.Dataset.from_dict({"input_ids": rows.tolist()}).with_format("torch"), model)
    trainer.fit()
    coder = trainer.saes[f"layers.{args.layer}"]
    return save_as_sae_lens(
        folder / "sae",
        w_enc=coder.encoder.weight.detach().T,
        b_enc=coder.encoder.bias.detach(),
        w_dec=coder.W_dec.detach(),
        b_dec=coder.b_dec.detach(),
        k=args.k,
        hook_name=hook(args),
        model_name=args.model,
    )


def save_as_sae_lens(folder: Path, *, w_enc, b_enc, w_dec, b_dec, k: int, hook_name: str, model_name: str) -> Path:
    """A TopK SAE folder SAELens (and `interp.loading.saes.load_sae`) reads: sparsify's encoder is SAELens's with the
    decoder bias subtracted from the input, and its decoder rows are kept at unit norm, so no rescaling."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    d_in, d_sae = w_enc.shape
    cfg = {
        "architecture": "topk",
        "k": k,
        "d_in": d_in,
        "d_sae": d_sae,
        "apply_b_dec_to_input": True,
        "rescale_acts_by_decoder_norm": False,
        "dtype": "float32",
        "device": "cpu",
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {"hook_name": hook_name, "model_name": model_name},
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    tensors = {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec}
    save_file({name: t.float().contiguous() for name, t in tensors.items()}, str(folder / "sae_weights.safetensors"))
    return folder


def run_side(args) -> None:
    """The child: train one side, then write its seconds and peak memory beside its SAE."""
    folder = args.out / args.side
    start = time.perf_counter()
    sae_folder = {"ours": train_ours, "sae_lens": train_sae_lens, "sparsify": train_sparsify}[args.side](args, folder)
    seconds = time.perf_counter() - start
    record = {"seconds": seconds, "peak_bytes": status_kib("VmHWM") * 1024, "sae": str(sae_folder)}
    (folder / "side.json").write_text(json.dumps(record))


def sparsify_python(out: Path) -> Path:
    """sparsify's virtual environment, created on first use (module docstring): its python."""
    import site

    venv = out / "venv-sparsify"
    python = venv / "bin" / "python"
    if not (venv / ".installed").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        (Path(purelib) / "_workbench.pth").write_text("\n".join(site.getsitepackages()) + "\n")
        pip = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", *SPARSIFY]
        subprocess.run(pip, check=True)
        (venv / ".installed").write_text(" ".join(SPARSIFY) + "\n")
    return python


def hf_folder(model_spec: str) -> Path:
    """The Hugging Face folder a packaged zoo model was converted into (sparsify loads models with transformers)."""
    from interp.loading.fetch import fetch
    from interp.loading.gguf import converted_folder
    from interp.loading.spec import parse_spec
    from interp.zoo import ZOO

    entry = ZOO.get(parse_spec(model_spec).zoo or "")
    if entry is None or entry.fetched is None:
        raise ValueError(f"sparsify needs a Hugging Face model; {model_spec} is not one (try zoo:smollm2-135m)")
    return converted_folder(fetch(entry.name, entry.fetched), sha256=entry.fetched.sha256)


def check_sparsify_reads_the_same(model, args, rows) -> float:
    """The largest |difference| between Hugging Face's hidden state after block `layer` and our hook, relative to
    the activations' largest magnitude, on the first rows (asserted below 1e-4)."""
    import torch
    from transformers import AutoModelForCausalLM

    from interp.core.hooks import run_with_cache

    hf = AutoModelForCausalLM.from_pretrained(hf_folder(args.model), dtype=torch.float32).eval()
    few = rows[:4]
    with torch.no_grad():
        theirs = hf(few, output_hidden_states=True).hidden_states[args.layer + 1]
    _, cache = run_with_cache(model, few, [hook(args)])
    ours = cache[hook(args)]
    return float((theirs - ours).abs().max() / ours.abs().max())


def spawn(args, side: str, python: Path | str) -> dict:
    folder = args.out / side
    folder.mkdir(parents=True, exist_ok=True)
    # the parent's own options (--smoke included), then the side and the folder the parent settled on
    command = [str(python), __file__, *args.argv, "--side", side, "--out", str(args.out)]
    done = subprocess.run(command, capture_output=True, text=True)  # the script's folder is on its path: sae_sweep
    if done.returncode != 0:
        raise RuntimeError(f"the {side} side failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads((folder / "side.json").read_text())


def main(argv: list[str] | None = None) -> dict:
    args = arguments(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    if args.side:
        run_side(args)
        return {}
    import torch

    from interp.core.tokens import special_token_ids
    from interp.loading.model import load_model
    from interp.loading.saes import load_sae
    from sae.evaluation import evaluate_sae

    peers = args.peers.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_model(args.model, device="cpu")
    rows = training_rows(model, args)
    relative = None
    if "sparsify" in peers:
        relative = check_sparsify_reads_the_same(model, args, rows)
        assert relative < 1e-4, f"sparsify's activations differ from the hook's by {relative:.1e} (relative)"
        (args.out / "sparsify").mkdir(parents=True, exist_ok=True)
        torch.save(rows, args.out / "sparsify" / "rows.pt")
        inputs = {"hf_folder": str(hf_folder(args.model)), "special_ids": sorted(special_token_ids(model))}
        (args.out / "sparsify" / "inputs.json").write_text(json.dumps(inputs))
    sides = {}
    for side in peers:
        python = sparsify_python(args.out) if side == "sparsify" else sys.executable
        sides[side] = spawn(args, side, python)
    held_out = heldout_rows(model, args) if args.eval_tokens else torch.zeros(0, args.context)
    for record in sides.values() if args.eval_tokens else ():
        result = evaluate_sae(model, load_sae(record["sae"], device="cpu"), held_out, hook=hook(args))
        record["quality"] = {
            name: getattr(result, name)
            for name in ("l0", "explained_variance", "ce_loss_recovered", "ce_loss_recovered_consistent",
                         "dead_fraction")
        }  # fmt: skip
    report = {
        "config": {k: str(v) for k, v in vars(args).items() if k not in ("argv", "side")},
        "held_out_tokens": held_out.numel(),
        "sparsify_activation_difference": relative,
        "sides": sides,
    }
    print_table(args, report)
    (args.out / "result.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def print_table(args, report: dict) -> None:
    print(
        f"{args.model} {hook(args)}; TopK, {args.d_sae:,} latents, k = {args.k}; {args.training_tokens:,} training "
        f"tokens (rows of {args.context}), batch {args.batch_size:,} tokens, lr {args.lr}; CPU, "
        f"{torch_threads()} threads; evaluated on {report['held_out_tokens']:,} held-out tokens"
    )
    if report["sparsify_activation_difference"] is not None:
        difference = report["sparsify_activation_difference"]
        print(f"sparsify's activations equal the hook's: max relative difference {difference:.1e}")
    head = f"{'':<10}{'seconds':>9}{'tokens/s':>10}{'peak MB':>9}{'L0':>7}{'EV':>8}{'CE rec':>8}{'CE rec (cons.)':>16}"
    print(f"{head}{'dead':>7}")
    for side, r in report["sides"].items():
        speed, peak = args.training_tokens / r["seconds"], r["peak_bytes"] / 2**20
        line = f"{side:<10}{r['seconds']:>9.1f}{speed:>10,.0f}{peak:>9,.0f}"
        q = r.get("quality")
        if q is None:  # --eval-tokens 0
            print(f"{line}{'-':>7}{'-':>8}{'-':>8}{'-':>16}{'-':>7}")
            continue
        print(
            f"{line}{q['l0']:>7.1f}{q['explained_variance']:>8.3f}{q['ce_loss_recovered']:>8.3f}"
            f"{q['ce_loss_recovered_consistent']:>16.3f}{q['dead_fraction']:>7.1%}"
        )


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
