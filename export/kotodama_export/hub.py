"""A --checkpoint that is not a local directory is a Hugging Face repo id: download it first.

This path needs the Hugging Face hub, which the project's own machines cannot reach; it is kept this
small so that it is obviously right. The download lands in huggingface_hub's cache.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ExportError

REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
WANTED = ["*.json", "*.safetensors", "*.jinja", "*.model"]


def resolve_checkpoint(argument: str) -> Path:
    path = Path(argument)
    if path.is_dir():
        return path
    if path.exists() or not REPO_ID.match(argument):
        raise ExportError(f"--checkpoint {argument} is neither a directory nor a Hugging Face repo id (org/name)")
    from huggingface_hub import snapshot_download

    print(f"downloading {argument} from the Hugging Face hub (safetensors, configs, tokenizer)")
    try:
        return Path(snapshot_download(argument, allow_patterns=WANTED))
    except Exception as e:  # the hub raises many types; the user needs the one line
        raise ExportError(f"cannot download {argument}: {str(e).splitlines()[0]}") from e
