"""`interp generate`, `steer`, `trace`, `edit` and `facts` on zoo:lang-4l, as a user runs them (in process): what they
print and the files they write, loaded back."""

from __future__ import annotations

import json

from interp.cli import main
from interp.results import CausalTrace, EditEvaluation, Generation, SteeringEvaluation, load_json

IOI = "When Mary and John went to the store , John gave a drink to"


def test_generate_prints_the_continuation_and_writes_it(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--model", "zoo:lang-4l", "--device", "cpu", "--prompt", IOI, "--prompt",
                 "When Tom and Anna", "--max-new-tokens", "4", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    result = load_json(Generation, out / "result.json")
    assert result.prompts == (IOI, "When Tom and Anna") and all(len(n) == 4 for n in result.new_tokens)
    assert result.texts[0] in printed and result.texts[1] in printed


def test_steer_makes_evaluates_and_saves_a_vector_that_generate_uses(tmp_path, capsys):
    pos, neg = tmp_path / "pos.txt", tmp_path / "neg.txt"
    pos.write_text("Mary likes the ball .\nJohn likes the book .\n")
    neg.write_text("Mary lives near the park .\n\nJohn lives near the school .\n")
    out = tmp_path / "vec"
    assert main(["steer", "--model", "zoo:lang-4l", "--device", "cpu", "--positive", str(pos), "--negative", str(neg),
                 "--layer", "1", "--strengths", "0.5", "--max-new-tokens", "4", "--out", str(out)]) == 0  # fmt: skip
    assert {p.name for p in out.iterdir()} >= {"vector.json", "vector.safetensors", "evaluation.json", "steering.html"}
    evaluation = load_json(SteeringEvaluation, out / "evaluation.json")
    assert [r.label for r in evaluation.rows] == ["none", "steer 0.5"]
    vec = json.loads((out / "vector.json").read_text())
    assert (vec["method"], vec["n_positive"], vec["n_negative"]) == ("diffmean", 2, 2)
    assert "steer 0.5" in capsys.readouterr().out
    gen = tmp_path / "gen"
    assert main(["generate", "--model", "zoo:lang-4l", "--device", "cpu", "--prompt", IOI, "--steer", str(out),
                 "--strength", "3", "--from-position", "2", "--max-new-tokens", "4", "--out", str(gen)]
                ) == 0  # fmt: skip
    assert "Steer(" in load_json(Generation, gen / "result.json").interventions[0]
    assert "from_position=2" in load_json(Generation, gen / "result.json").interventions[0]


def test_trace_finds_the_model_s_own_answer_and_draws_it(tmp_path, capsys):
    out = tmp_path / "trace"
    assert main(["trace", "--model", "zoo:lang-4l", "--device", "cpu", "--prompt", IOI, "--subject", "John",
                 "--samples", "2", "--out", str(out)]) == 0  # fmt: skip
    trace = load_json(CausalTrace, out / "trace.json")
    assert trace.target == "Mary" and (out / "trace.html").is_file()
    assert "restores most at layer" in capsys.readouterr().out


def test_edit_writes_a_loadable_edited_model_and_its_evaluation(tmp_path, capsys):
    out = tmp_path / "edited"
    assert main(["edit", "--model", "zoo:lang-4l", "--device", "cpu", "--prompt", "Mary lives near the", "--subject",
                 "Mary", "--target", "school", "--out", str(out)]) == 0  # fmt: skip
    evaluation = load_json(EditEvaluation, out / "evaluation.json")
    assert evaluation.efficacy == 1.0 and evaluation.method == "rome"
    assert "efficacy 1.00" in capsys.readouterr().out
    assert main(["facts", "--model", str(out), "--device", "cpu", "--facts", str(_fact_file(tmp_path)),
                 "--out", str(tmp_path / "facts")]) == 0  # fmt: skip
    assert "1 of 1 facts known" in capsys.readouterr().out


def _fact_file(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text(json.dumps({"subject": "Mary", "prompt": "Mary lives near the", "target": "school"}) + "\n")
    return path
