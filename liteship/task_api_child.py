"""Runs in the MediaPipe environment (never imports liteship): one JSON request a line on stdin, one JSON
answer a line on stdout.

- ``{"action": "write", "src", "dst", "name", "description", "version", "mean", "std", "labels"}``: the
  model with TFLite metadata, written by MediaPipe's metadata writer (image input, classification output
  with ``labels.txt`` as its associated file);
- ``{"action": "read", "model"}``: the metadata as MediaPipe's displayer shows it, and the labels file;
- ``{"action": "classify", "model", "images", "scores", "rois"}``: MediaPipe's ImageClassifier on every image of
  an .npy file (N, H, W, 3 uint8 RGB, or an object array of such images of any size); ``rois`` (optional) gives
  each image's region of interest as normalized [left, top, right, bottom] (an app's
  ``classify(image:regionOfInterest:)``), or null for the whole image; every class's score by class index goes
  to ``scores`` (.npy).
"""

import json
import sys
import traceback


def write(req: dict) -> dict:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, metadata_writer

    with open(req["src"], "rb") as f:
        writer = metadata_writer.MetadataWriter.create(bytearray(f.read()))
    # add_general_info takes no version; GeneralMd does: set the general metadata the writer populates
    writer._general_md = metadata_info.GeneralMd(name=req["name"], version=req["version"],
                                                 description=req["description"])
    writer.add_image_input(req["mean"], req["std"])
    writer.add_classification_output(metadata_writer.Labels().add(req["labels"], exported_filename="labels.txt"))
    model, _ = _at_a_fixed_time(writer.populate)
    with open(req["dst"], "wb") as f:
        f.write(model)
    return {"ok": True, "bytes": len(model)}


def _at_a_fixed_time(call):
    """Run ``call`` with zipfile's clock at 1980-01-01 00:00 UTC: the labels file is zipped onto the model with
    ZipFile.writestr, which stamps it with the current time, so the same model would get other bytes each
    second. A variant's bytes must depend only on what it was made from."""
    import time
    import types
    import zipfile

    real = zipfile.time
    zipfile.time = types.SimpleNamespace(time=lambda: 315532800.0, localtime=time.gmtime, gmtime=time.gmtime,
                                         mktime=time.mktime)
    try:
        return call()
    finally:
        zipfile.time = real


def read(req: dict) -> dict:
    from mediapipe.tasks.python.metadata import metadata

    shown = metadata.MetadataDisplayer.with_model_file(req["model"])
    files = shown.get_packed_associated_file_list()
    labels = shown.get_associated_file_buffer("labels.txt").decode("utf-8") if "labels.txt" in files else None
    return {"ok": True, "metadata": json.loads(shown.get_metadata_json()), "files": files, "labels": labels}


def _images(path):
    """(how many, each image): an object array of images of any size is loaded whole (a batch of photos); an
    (N, H, W, 3) array is read an image at a time, never held whole (a test split)."""
    import numpy as np
    from numpy.lib import format as npy

    fh = open(path, "rb")
    version = npy.read_magic(fh)
    shape, _, dtype = (npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0)(fh)
    if dtype.hasobject:
        fh.close()
        images = np.load(path, allow_pickle=True)
        return len(images), iter(images)
    width = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def each():
        with fh:
            for _ in range(shape[0]):
                yield np.frombuffer(fh.read(width), dtype).reshape(shape[1:])

    return shape[0], each()


def classify(req: dict) -> dict:
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core import base_options

    count, images = _images(req["images"])
    rois = req.get("rois") or [None] * count
    options = vision.ImageClassifierOptions(base_options=base_options.BaseOptions(model_asset_path=req["model"]),
                                            max_results=-1)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        rows = []
        for image, roi in zip(images, rois):
            result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                  data=np.ascontiguousarray(image, dtype=np.uint8)),
                                         image_processing_options=_region(roi))
            categories = result.classifications[0].categories
            row = np.zeros(len(categories), np.float32)
            for c in categories:
                row[c.index] = c.score
            rows.append(row)
    np.save(req["scores"], np.stack(rows))
    return {"ok": True, "images": len(rows)}


def _region(roi):
    """ImageProcessingOptions with ``roi`` (normalized left, top, right, bottom) as the region of interest; None
    for the whole image. Python names the rectangle ``Rect`` (``RectF`` in the C++ and iOS APIs)."""
    if roi is None:
        return None
    from mediapipe.tasks.python.components.containers import rect
    from mediapipe.tasks.python.vision.core.image_processing_options import ImageProcessingOptions

    box = getattr(rect, "RectF", None) or rect.Rect
    return ImageProcessingOptions(region_of_interest=box(*[float(v) for v in roi]))


def main() -> int:
    actions = {"write": write, "read": read, "classify": classify}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            answer = actions[req["action"]](req)
        except Exception as exc:  # the caller records the error; the next request still gets an answer
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:600],
                      "traceback": traceback.format_exc(limit=4)}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
