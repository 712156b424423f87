"""Trusted documents: an allow-list of sha256 -> document text, loaded once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

HASH_PREFIX: Final = "sha256:"


def document_hash(document: str) -> str:
    """The lower-case hex sha256 of a document's UTF-8 text: its key in a manifest."""
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(source: str | Mapping[str, str]) -> dict[str, str]:
    """The allow-list from a JSON manifest file or a mapping: sha256 hex -> document text.

    Keys may carry a `sha256:` prefix; each must be the hash of its document (a manifest
    that does not match what it lists is refused, not trusted).

    Raises:
        ValueError: The file cannot be read, is not a JSON object of strings, or a hash is wrong.
    """
    if isinstance(source, str):
        try:
            loaded = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read the manifest {source!r} ({error})") from error
    else:
        loaded = source
    if not isinstance(loaded, Mapping):
        raise ValueError("the manifest must be a JSON object of sha256 hex -> document")
    manifest: dict[str, str] = {}
    wrong: list[str] = []
    for key, document in loaded.items():
        if not isinstance(key, str) or not isinstance(document, str):
            raise ValueError("the manifest must be a JSON object of sha256 hex -> document")
        digest = key.removeprefix(HASH_PREFIX).lower()
        if document_hash(document) != digest:
            wrong.append(key)
        manifest[digest] = document
    if wrong:
        listed = ", ".join(repr(key) for key in wrong[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise ValueError(f"hashes that are not their document's sha256: {listed}{more}")
    return manifest


__all__ = ["HASH_PREFIX", "document_hash", "load_manifest"]
