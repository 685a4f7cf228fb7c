"""Every benchmark (benchmarks/*.py) runs in its smoke mode and prints its table: nothing else runs them, and one that
rotted (an option renamed in the library, a result field gone) would go unnoticed until someone needed its numbers.

Each script is imported by its path (benchmarks/ is not a package) and its `main(["--smoke", ...])` run in this
process, so the library it calls is type-checked as in every test; whatever it writes goes to the test's temporary
folder. `--smoke` keeps the benchmark's own checks (patching.py's equality with TransformerLens, editing.py's with
transformers) at the smallest sizes. About 2 minutes on 2 cores, most of it processes the benchmarks start:
workers.py's torchrun workers, first_heatmap.py's server and browser, graphs.py's fresh process per row."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ZOO_TOKENIZER = BENCHMARKS.parent / "interp" / "zoo" / "lang-4l" / "tokenizer"


def smoke(name: str, args: list[str], capsys, monkeypatch) -> str:
    """What benchmarks/NAME.py prints with `--smoke` and `args`."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    monkeypatch.setattr(sys, "path", [str(BENCHMARKS), *sys.path])  # as when run: _common.py beside them
    spec.loader.exec_module(module)
    capsys.readouterr()
    module.main(["--smoke", *args])
    return capsys.readouterr().out


def lines(out: str, pattern: str) -> list[re.Match]:
    return list(re.finditer(pattern, out, flags=re.MULTILINE))


def check_edges(out: str, folder: Path) -> None:
    methods = ("exact", "eap", "eap-ig", "eap-ig-activations")
    for model in ("kc-induction", "lang-4l"):
        for method in methods:
            assert lines(out, rf"^{model} +{method} +AUROC +[-\d.]+ +top .* forwards +\(\d+ edges\)$"), (model, method)
    assert lines(out, r"^  ACDC tau 0.1 +\d+ edges \(.*\): faithfulness -?\d")
    assert lines(out, r"^  learned masks, <= \d+ +\d+ edges")
    assert len(lines(out, r"^  top \d+ of (exact|eap|eap-ig|eap-ig-activations) ")) == 4
    table = json.loads((folder / "table.json").read_text())
    exact = next(r for r in table["rows"] if r["model"] == "kc-induction" and r["method"] == "exact")
    assert exact["auroc"] > 0.9  # kc-induction's circuit is known by construction; exact patching finds it
    assert (folder / "curves.html").is_file()


def check_editing(out: str, folder: Path) -> None:
    assert "greedy, 2 prompts x 4 new tokens: 2 of 2 equal to transformers token for token" in out
    for run in ("transformers generate", "ours, plain", "ours, steered", "ours, no KV cache"):
        assert lines(out, rf"^  {run} +[\d.]+ s +[\d.]+ tokens/s"), run
    assert lines(out, r"^\d+ of \d+ bundled facts known")
    assert len(lines(out, r"^  \S.* -> \S.* +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ / [\d.]+$")) == 1
    for row in ("none", "prompting", "steer 0.25"):
        assert lines(out, rf"^  {row} +[\d.]+ +[\d.]+ \("), row


def check_first_heatmap(out: str, folder: Path) -> None:
    assert lines(out, r"^run 1: server answered after [\d.]+ s, first heatmap after [\d.]+ s$")
    assert lines(out, r"^zoo:lang-4l, \d+ CPUs: first heatmap median [\d.]+ s of 1 fresh servers")


def check_graphs(out: str, folder: Path) -> None:
    assert lines(out, r"^15-token IOI prompt: \d+ latents, \d+ nodes, .*; pruned to \d+ nodes")
    assert "| tokens | latents active | cap | rows attributed |" in out
    (row,) = lines(out, r"^\| (\d+) \| \d+ \| 4 \| (\d+) \| [\d.]+ \| [-\d.]+ \| [\d.]+ \|$")
    assert int(row[1]) <= 8 and int(row[2]) > 4  # 4 latents attributed, and the logits


def check_locking(out: str, folder: Path) -> None:
    assert lines(out, r"^analysis +with lock +without +ratio$")
    for name in ("patch resid_pre fast", "patch z_pos exact", "attribution z", "dla head"):
        assert lines(out, rf"^{name} +[\d.]+s +[\d.]+s +[\d.]+$"), name


def check_patching(out: str, folder: Path) -> None:
    assert lines(out, r"^model +site +prompts +tokens +method +TL +ours +speedup +max \|diff\| +bound +TL/bound$")
    row = r"^(lang|gpt2-tiny) +(resid_pre|z|z_pos) +2 +\d+ +(exact|fast) .* ([\d.]+e[-+]\d+)"
    rows = lines(out, row + r"( +[\d.]+ +[\d.]+x)?$")
    assert len(rows) == 12  # 2 models x 3 sites x 2 methods, each checked equal to TransformerLens's
    assert all(float(r[4]) < 1e-4 for r in rows)
    assert all((r[5] is not None) == (r[3] == "fast") for r in rows)  # the bound, beside the fast method's time
    assert len(lines(out, r"^(lang|gpt2-tiny) +[\d.]+ +[\d.]+ +[\d.]+x$")) == 2
    assert "SAE activation cache at blocks.2.hook_resid_pre on lang, 8 x 16 tokens" in out


def check_sae_peers(out: str, folder: Path) -> None:
    assert lines(out, r"^zoo:lang-4l blocks.2.hook_resid_post; TopK, 256 latents, k = 8; 4,096 training tokens")
    for side in ("ours", "sae_lens"):  # sparsify needs a network install: not in the smoke mode
        assert lines(out, rf"^{side} +[\d.]+ +[\d,]+ +[\d,]+ +8\.0 +[-\d.]+ +[-\d.]+ +[-\d.]+ +[\d.]+%$"), side
    report = json.loads((folder / "result.json").read_text())
    assert report["sides"].keys() == {"ours", "sae_lens"} and report["held_out_tokens"] > 0
    assert all(side["seconds"] > 0 and side["peak_bytes"] > 2**20 for side in report["sides"].values())


def check_sae_sweep(out: str, folder: Path) -> None:
    assert lines(out, r"^total time: one cache \+ sweep [\d.]+ s; SAELens runner x1 [\d.]+ s")
    assert lines(out, r"^   8 \| +[\d.]+ +[\d.]+ \| +[-\d.]+ +[-\d.]+ \| +[-\d.]+ +[-\d.]+ \| +[\d.]+ +[\d.]+$")
    (row,) = json.loads((folder / "result.json").read_text())["rows"]
    assert 0 < row["ours"]["l0"] <= 8 and 0 < row["sae_lens"]["l0"] <= 8  # TopK, k = 8, on both sides


def check_text_sources(out: str, folder: Path) -> None:
    counts = {}
    for m in lines(out, r"^(text:fortunes(?:/heldout)?) +([\d,]+) documents .*zoo:lang-4l tokens .*GPT-2 tokens"):
        counts[m[1]] = int(m[2].replace(",", ""))
    assert 0 < counts["text:fortunes/heldout"] < counts["text:fortunes"]  # about one group in eight is held out


def check_toy_optima(out: str, folder: Path) -> None:
    for name in ("hexagon", "pentagon"):
        assert lines(out, rf"^{name} +found [01]/1 \(\d+ s\); missed seeds: "), name


def check_trojans(out: str, folder: Path) -> None:
    (header,) = lines(out, r"^trojan-flip: trigger 'snow' planted, attack success ([\d.]+), clean accuracy ([\d.]+)")
    assert float(header[1]) > 0.5  # the backdoor works on the trojan
    assert len(lines(out, r"^  \S.* +AUROC +[-\d.]+ +true rank .*after direction: .*after mean: ")) >= 5
    assert lines(out, r"^  word scan +trigger rank +\d+ ")
    for name in ("table.json", "table.html", "hunt-trojan-flip.html"):
        assert (folder / name).is_file(), name


def check_weights(out: str, folder: Path) -> None:
    report = json.loads(out)
    assert report["model"] == "zoo:lang-4l"
    assert report["pairs_x_kinds"] == 3 * 6 * 4 * 4  # Q, K and V: 4 heads to 4 heads of each later layer (6 pairs)
    assert report["ioi_heads_copying"] == {}  # SmolLM2's heads
    for part in ("previous_token", "induction"):
        assert -1 <= report[part]["spearman"] <= 1 and len(report[part]["weights_top"]) == 5
    for name in ("report.json", "roles.json", "ov_table.json"):
        assert (folder / name).is_file(), name


def check_workers(out: str, folder: Path) -> None:
    assert lines(out, r"^zoo:lang-4l blocks.2.hook_resid_post: 1 TopK SAEs x 64 latents, 2,048 tokens each")
    assert lines(out, r"^ +1 process: +[\d.]+ s \([\d.]+\), 1.00x$")
    assert lines(out, r"^ +2 workers, data-parallel: +[\d.]+ s \([\d.]+\), [\d.]+x$")
    seconds = json.loads((folder / "result.json").read_text())["seconds"]
    assert seconds.keys() == {"1 process", "2 workers, data-parallel"}


CASES = {
    "edges": (check_edges, ["--out", "{folder}"]),
    "editing": (check_editing, []),
    "first_heatmap": (check_first_heatmap, []),
    "graphs": (check_graphs, []),
    "locking": (check_locking, []),
    "patching": (check_patching, []),
    "sae_peers": (check_sae_peers, ["--out", "{folder}"]),
    "sae_sweep": (check_sae_sweep, ["--out", "{folder}"]),
    "text_sources": (check_text_sources, ["--gpt2", str(ZOO_TOKENIZER)]),  # any tokenizer folder: the path runs
    "toy_optima": (check_toy_optima, []),
    "trojans": (check_trojans, ["--out", "{folder}"]),
    "weights": (check_weights, ["--out", "{folder}"]),
    "workers": (check_workers, ["--out", "{folder}"]),
}
REAL = {"editing"}
"""Benchmarks of the real model alone: their smoke mode loads SmolLM2 (tests/test_real_model.py says how it is
fetched)."""


def test_every_benchmark_has_a_case():
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    assert not scripts - set(CASES), f"benchmarks with no smoke case in CASES: {sorted(scripts - set(CASES))}"
    assert not set(CASES) - scripts, f"cases of no benchmark: {sorted(set(CASES) - scripts)}"


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.real] if name in REAL else []) for name in sorted(CASES)]
)
def test_benchmark_smoke(name, tmp_path, capsys, monkeypatch):
    check, args = CASES[name]
    out = smoke(name, [a.format(folder=tmp_path) for a in args], capsys, monkeypatch)
    check(out, tmp_path)
