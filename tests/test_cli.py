"""The `interp` command, run as a user runs it (a subprocess through the console script)."""

import json
import os
import subprocess
import sys

import pytest

from interp.cli import main


def _interp(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "interp.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_models_lists_the_zoo_quickly():
    import time

    start = time.perf_counter()
    result = _interp("models")
    # no torch or TransformerLens import on this path (they take ~8 s); 5 s leaves room for a busy machine
    assert time.perf_counter() - start < 5
    assert result.returncode == 0
    assert "zoo:lang-4l" in result.stdout and "(default)" in result.stdout and "zoo:induction-2l" in result.stdout


def test_info_json(capsys):
    assert main(["info", "zoo:induction-2l", "--device", "cpu", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["n_layers"] == 2 and facts["n_heads"] == 4 and facts["attn_only"] is True
    assert facts["n_ctx"] == 64 and facts["device"] == "cpu" and "mlp_out" not in facts["sites"]


def test_task_prints_metrics_and_writes_results(tmp_path, capsys):
    assert (
        main(
            [
                "task",
                "induction",
                "--model",
                "zoo:induction-2l",
                "--device",
                "cpu",
                "--n-prompts",
                "8",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "clean" in out and "corrupted" in out
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["type"] == "TaskMetrics" and saved["n_prompts"] == 8 and len(saved["clean_logit_diff"]) == 8
    assert (tmp_path / "task.html").stat().st_size > 10_000


@pytest.mark.parametrize(
    "args, message, subprocess_",
    [
        (["info", "zoo:missing"], "no zoo model 'missing'", True),
        (["info", "/no/such/folder/model"], "no folder at /no/such/folder/model", False),
        (["info", "gpt-7"], "unknown model 'gpt-7'", False),
        (
            ["task", "sorting", "--model", "zoo:induction-2l"],
            "invalid choice: 'sorting' (choose from 'ioi', 'induction', 'induction-resample', 'lookup')",
            False,
        ),
        (["task", "ioi", "--model", "zoo:induction-2l"], "single tokens", False),
    ],
)
def test_errors_are_one_clear_line(args, message, subprocess_, capsys):
    # One case runs as a user runs it, in its own process (5 s of imports each); the others call the same entry
    # point in this process, where the exit code and standard error are the same.
    if subprocess_:
        result = _interp(*args)
        code, err = result.returncode, result.stderr
    else:
        from interp.cli import main

        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's own refusals
            code = exit_.code
        err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_demo_writes_results_and_figures(tmp_path):
    result = _interp("demo", "--device", "cpu", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    for name in ("ioi.json", "head_scores.json", "ioi.html", "head_scores.html"):
        assert (tmp_path / "demo" / name).is_file(), name
    assert str((tmp_path / "demo").resolve()) in result.stdout
    ioi = json.loads((tmp_path / "demo" / "ioi.json").read_text())
    assert ioi["model"] == "zoo:lang-4l" and ioi["n_prompts"] == 64


def test_zoo_train_writes_a_loadable_folder_with_a_card(tmp_path, capsys):
    out = tmp_path / "ind"
    assert main(["zoo", "train", "induction-2l", "--out", str(out), "--steps", "5"]) == 0
    assert "trained induction-2l" in capsys.readouterr().out
    for name in ("config.json", "model.safetensors", "tokenizer/tokenizer.json", "CARD.md", "card.json"):
        assert (out / name).is_file(), name
    card = (out / "CARD.md").read_text()
    assert "5 steps of 64 sequences" in card and "induction heads:" in card


def test_official_name_without_offline_flag_fails_within_seconds():
    """Without HF_HUB_OFFLINE, huggingface_hub alone would retry for ~20 s; the probe answers in seconds."""
    import time

    from interp.loading.checks import probe_hub

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    if probe_hub():
        pytest.skip("the hub is reachable from this machine")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "interp.cli", "info", "gpt2"], capture_output=True, text=True, env=env, timeout=120
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 2 and "hub is unreachable" in result.stderr
    assert elapsed < 15, elapsed  # includes ~4 s of Python imports


def test_probe_on_the_induction_model(tmp_path, capsys):
    out = tmp_path / "probe"
    assert (
        main(
            [
                "probe",
                "--model",
                "zoo:induction-2l",
                "--device",
                "cpu",
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "acts"),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "causal check" in text and "selectivity" in text
    result = json.loads((out / "result.json").read_text())
    for key in ("layers", "accuracy", "control_accuracy", "selectivity", "site"):
        assert key in result, key
    assert result["layers"] == [0, 1] and result["site"] == "resid_post" and result["control"] == "token-type"
    # known answer: whether a token repeats is invisible before the induction heads and clear after them
    assert result["accuracy"][0] <= result["chance"] + 0.05
    assert result["accuracy"][1] >= result["chance"] + 0.1 and result["selectivity"][1] >= 0.1
    check = json.loads((out / "causal_check.json").read_text())
    assert check["hook"] == "blocks.1.hook_resid_post" and check["verdict"]
    for name in ("accuracy", "selectivity", "direction_cosines", "causal_check"):
        assert (out / f"{name}.html").is_file()
    assert list((tmp_path / "acts").glob("shard-*.safetensors"))


def test_probe_bad_site(capsys):
    assert main(["probe", "--model", "zoo:induction-2l", "--device", "cpu", "--site", "mlp_out"]) == 2
    assert "has no mlp_out site" in capsys.readouterr().err


def test_patch_command_writes_the_documented_schema(tmp_path, capsys):
    out = tmp_path / "patch"
    args = [
        "patch",
        "--model",
        "zoo:lang-4l",
        "--device",
        "cpu",
        "--site",
        "resid_pre",
        "--n-prompts",
        "4",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    result = json.loads((out / "result.json").read_text())
    for key in ("analysis", "model", "site", "axes", "labels", "raw", "normalized", "clean", "corrupted", "metric"):
        assert key in result, key
    assert (
        result["axes"] == ["layer", "pos"]
        and len(result["raw"]) == 4
        and len(result["raw"][0]) == len(result["labels"]["pos"])
    )
    assert (out / "patch.html").stat().st_size > 10_000
    assert "normalised" in capsys.readouterr().out


def test_patch_command_with_custom_prompts(tmp_path):
    args = [
        "patch",
        "--model",
        "zoo:lang-4l",
        "--device",
        "cpu",
        "--site",
        "z",
        "--out",
        str(tmp_path),
        "--clean",
        "When Mary and John went to the store, John gave a drink to",
        "--corrupted",
        "When Mary and John went to the store, Mary gave a drink to",
        "--answer",
        " Mary",
        "--wrong",
        " John",
    ]
    assert main(args) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert (
        result["task"] == "custom" and result["axes"] == ["layer", "head"] and result["clean"] > 0 > result["corrupted"]
    )
    assert main(["patch", "--model", "zoo:lang-4l", "--clean", "x"]) == 2  # half a custom task is an error


def test_heads_command(tmp_path, capsys):
    assert main(["heads", "--model", "zoo:induction-2l", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert "top induction heads: L1H" in capsys.readouterr().out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["type"] == "HeadScores" and len(result["scores"]) == 3 and (tmp_path / "heads.html").is_file()


@pytest.mark.parametrize("command, figure", [("dla", "dla.html"), ("lens", "lens.html")])
def test_dla_and_lens_commands(tmp_path, capsys, command, figure):
    assert main([command, "--model", "zoo:lang-4l", "--device", "cpu", "--n-prompts", "4", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["model"] == "zoo:lang-4l" and (tmp_path / figure).stat().st_size > 10_000
    if command == "dla":
        assert result["granularity"] == "component" and len(result["labels"]) == len(result["contributions"]) == 10


def test_attribute_command_records_agreement(tmp_path, capsys):
    args = [
        "attribute",
        "--model",
        "zoo:lang-4l",
        "--device",
        "cpu",
        "--site",
        "z",
        "--n-prompts",
        "8",
        "--compare",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["analysis"] == "attribution_patching" and result["agreement"]["pearson"] > 0.9
    assert (tmp_path / "attribution.html").is_file() and "Pearson" in capsys.readouterr().out


def test_circuit_command(tmp_path, capsys):
    assert (
        main(
            [
                "circuit",
                "--model",
                "zoo:lang-4l",
                "--device",
                "cpu",
                "--n-prompts",
                "32",
                "--top-k",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    faith = json.loads((tmp_path / "faithfulness.json").read_text())
    circuit = json.loads((tmp_path / "circuit.json").read_text())
    assert faith["n_heads"] == 2 and len([n for n in circuit["nodes"] if "H" in n]) == 2
    assert (tmp_path / "circuit.html").is_file() and "faithfulness" in capsys.readouterr().out


def test_path_patch_command(tmp_path, capsys):
    args = [
        "path-patch",
        "--model",
        "zoo:induction-2l",
        "--task",
        "induction",
        "--device",
        "cpu",
        "--n-prompts",
        "8",
        "--receivers",
        "L1H0,L1H1,L1H2,L1H3",
        "--input",
        "v",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["analysis"] == "path_patching" and result["site"].startswith("z -> v of L1H0")
    assert "sender L0H" in capsys.readouterr().out and (tmp_path / "path_patch.html").is_file()
