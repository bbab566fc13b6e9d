"""What TFLite metadata a variant carries, from its record (variants/ID.json), and what that means for MediaPipe's
ImageClassifier, in MODEL.md's words: a release never claims metadata its file does not carry."""

from __future__ import annotations

NOT_WRITTEN = ("liteship wrote none when it made the variant: the MediaPipe environment, whose metadata writer it "
               "uses, was not installed then")


def metadata_state(variant: dict) -> dict:
    """``{"carried": True, ...what was written}``, or ``{"carried": False, "why": ...}`` from the variant's record:
    its ``metadata`` (``{"skipped": why}`` when the writer was refused the file), or a ``metadata_refusal`` in its
    details."""
    written = variant.get("metadata")
    details = {**(variant.get("extra") or {}), **(variant.get("details") or {})}
    skipped = ((written or {}).get("skipped") if isinstance(written, dict) else None) \
        or details.get("metadata_refusal") or variant.get("metadata_refusal")
    if skipped:
        return {"carried": False, "why": str(skipped)}
    if isinstance(written, dict) and written:
        return {"carried": True, **written}
    return {"carried": False, "why": NOT_WRITTEN}


def metadata_words(metadata: dict | None, dtype: str) -> str:
    """MediaPipe's way, its first sentence: the metadata the file carries, or why none and what follows."""
    if metadata is None or metadata.get("carried"):
        return ("`model.tflite` carries TFLite metadata (the input's normalization, `labels.txt` as its associated "
                "file, a name and a version), which `ImageClassifier` needs.")
    then = ("it refuses this model, whose input is float32: it takes the input's normalization from the metadata "
            "alone" if dtype.startswith("float") else
            "it has no class names for this model (each category carries its index only: the line of `labels.txt`)")
    return (f"`model.tflite` carries NO TFLite metadata: {metadata.get('why')}. `ImageClassifier` reads the input's "
            f"normalization and the class names from that metadata, so {then}; use the first way, or pick a variant "
            "that carries metadata. For a variant that does, the code is:")
