"""`python -m app`: start the workbench app on this machine only, with no usage statistics, from any folder.

    python -m app [--port 8501] [--allow-path FOLDER ...] [--remote] [-- extra streamlit arguments]

`--allow-path` adds folders the app may load models and SAEs from (besides the project, ~/.cache and the
current folder); `--remote` listens on every interface and answers other machines (only on a network you
trust: the app runs whatever analysis a visitor asks for).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from app.common import REMOTE_ENV, ROOTS_ENV, allowed_roots

__all__: list[str] = []

APP = Path(__file__).resolve().parent / "main.py"


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m app", description="The interpretability workbench app")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--allow-path", action="append", default=[], help="a folder models and SAEs may load from")
    parser.add_argument("--remote", action="store_true", help="listen on every interface and answer other machines")
    args, extra = parser.parse_known_args(argv)
    env = dict(os.environ)
    if args.allow_path:
        roots = [*allowed_roots(), *(Path(p).expanduser().resolve() for p in args.allow_path)]
        env[ROOTS_ENV] = os.pathsep.join(map(str, roots))
    if args.remote:
        env[REMOTE_ENV] = "1"
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "0.0.0.0" if args.remote else "127.0.0.1",
        "--server.port", str(args.port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        *[a for a in extra if a != "--"],
    ]  # fmt: skip
    # streamlit replaces this process (as `exec` would in a shell): a signal to the launcher is a signal to the
    # server, so stopping `python -m app` can never leave a server running without it
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main()
