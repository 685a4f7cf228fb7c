"""Data and loading (layer 3): a spec in, a model or an SAE out. `spec` parses what names a model, `model` loads
it (zoo, hub name, Hugging Face folder, GGUF file through `gguf`), `saes` loads SAE and transcoder folders,
and `checks` refuses what would be unsafe or unreadable before any loader touches it.

Empty on purpose: importing a submodule runs this file, and `checks` is imported where torch is not wanted."""

__all__: list[str] = []
