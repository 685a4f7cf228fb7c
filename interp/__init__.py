"""Mechanistic interpretability workbench: the library.

`interp.load_model` is imported lazily so that `import interp` (and the `interp` command's
start-up) does not pay for torch and TransformerLens until a model is needed.
"""

__all__ = ["load_model"]


def __getattr__(name: str):
    if name == "load_model":
        from interp.loading.model import load_model

        return load_model
    raise AttributeError(f"module 'interp' has no attribute {name!r}")
