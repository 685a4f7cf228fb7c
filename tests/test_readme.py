"""The README's Python examples run as written: every block, in order, as one script in a fresh process, from a
folder outside the project (where a user of the installed package stands), with nothing but the installed package
on the path."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.processes import started

ROOT = Path(__file__).resolve().parents[1]


def readme_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def test_every_python_block_of_the_readme_runs_in_order_from_another_folder(tmp_path):
    blocks = readme_blocks()
    assert len(blocks) >= 9
    # each block says when it is done, so that a failure names its block
    script = "".join(f"{code}\nprint('README block {i} ran', flush=True)\n" for i, code in enumerate(blocks, 1))
    (tmp_path / "readme.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "readme.py"]
    with started(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        output, _ = run.communicate(timeout=900)
    ran = re.findall(r"^README block (\d+) ran$", output, flags=re.M)
    assert run.returncode == 0 and len(ran) == len(blocks), f"after block {len(ran)}:\n{output[-4000:]}"
    assert (tmp_path / "patch.html").is_file() and (tmp_path / "circuit.json").is_file()  # what the blocks save
