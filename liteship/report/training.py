"""The report's "Float models" section: how each float model the records measure was trained, as its card says
(:func:`liteship.judge.read_trained`): the images and classes it trained on, the augmentation its training ran on
them, and whether that was the data set's default or the run's own setting."""

from __future__ import annotations

from liteship.bench import BenchRecord
from liteship.judge import augmentation_note, read_trained
from liteship.report.document import Para, Section, Table
from liteship.report.format import num


def training_section(records: list[BenchRecord], run_dir: str) -> Section | None:
    """One row per float model of the records, from ``run_dir``'s cards; None without a run directory to read
    (a notebook's decision alone) or a model to say."""
    models = [r.model for r in records if r.model]
    if not run_dir or not models:
        return None
    table = Table(("model", "classes", "training images", "augmentation while training", "set by"), tuple(
        (t.model, (num(t.classes, "d"), t.classes), (num(t.train_images, ",d"), t.train_images),
         t.augmentation, t.set_by) for t in read_trained(run_dir, models)))
    return Section("Float models", "training", (
        Para(f"How each float model was trained, from its card (float/<model>/card.json). {augmentation_note()}"),
        table))
