"""How each float model was trained, as the report and MODEL.md say it, from its card (``float/<model>/card.json``):
the augmentation its training ran on its images, each step with its settings, and whose choice that was (the data
set's default, or the run's own setting).

The card's ``augment`` is read with the trainer's own reader (:meth:`liteship.trainer.Augmentation.from_record`).
A card without one was made before liteship augmented, when no training did: it says so, never a default it did
not have. A card that is missing or unreadable, or an ``augment`` entry that is not liteship's, is said as such.
Nothing here augments or evaluates: validation, the test split, int8 calibration and every accuracy measurement
read the input contract's pixels only (:data:`NEVER_AUGMENTED`); a recipe that fine-tunes (pruning, QAT,
clustering) trains with its float model's augmentation (:data:`FINE_TUNING`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.rundir import CARD, FLOAT, read_card

BEFORE = "none (trained before liteship augmented)"  # a card without "augment"
OWN_SETTING = "the run's own setting (`[train] augment`, `--augment` or `augment=`)"
NEVER_AUGMENTED = ("validation, the test split, int8 calibration and every accuracy measurement read the input "
                   "contract's pixels only{}, never augmented")  # {}: where the contract is said, if anywhere
FINE_TUNING = "a recipe that fine-tunes (pruning, QAT, clustering) trains with its float model's augmentation"
HOW_TO_SET = ("set it with `[train] augment` (each step's settings beside it in `[train]`) or `--augment`; "
              "`augment = []` for none")
DEFAULTS = {"photos": "the default for photos", "digits": "the default for the built-in digits"}


@dataclass(frozen=True)
class Trained:
    """What one float model's card says of its training, in words, and the counts it trained on."""

    model: str
    augmentation: str  # the steps with their settings ("random horizontal flip"); "none"; BEFORE; "unknown: ..."
    set_by: str  # whose choice: the data set's default, the run's own setting; "–" where no card says
    classes: int | None = None
    train_images: int | None = None

    def line(self) -> str:
        """Both in one: "random horizontal flip: the run's own setting (...)"; "none (trained before ...)"."""
        return self.augmentation if self.set_by == "–" else f"{self.augmentation}: {self.set_by}"


def _number(x: float) -> str:
    return f"{x:.4g}"


def _span(pair, as_fractions: bool = False) -> str:
    """"0.08–1"; with ``as_fractions``, "3/4–4/3" where both are small fractions that four digits would round
    (4/3 is not 1.333), else decimals."""
    lo, hi = pair
    if as_fractions and any(float(_number(x)) != x for x in pair):
        fractions = [Fraction(x).limit_denominator(16) for x in pair]
        if all(abs(float(f) - x) < 1e-9 for f, x in zip(fractions, pair)):
            return "–".join(str(f) for f in fractions)
    return f"{_number(lo)}–{_number(hi)}"


def _step_words(step: str, aug) -> str:
    """One step with its settings, as the trainer runs it (liteship.trainer.augment's docstring)."""
    if step == "crop":
        said = [f"area {_span(aug.crop_area)} of the image" if aug.crop_area else "",
                f"aspect ratio {_span(aug.crop_aspect_ratio, True)}" if aug.crop_aspect_ratio else ""]
        settings = ", ".join(s for s in said if s)
        return "random resized crop" + (f" ({settings})" if settings else "")
    if step == "flip":
        return "random horizontal flip"
    if step == "rotate":
        return "random rotation" + ("" if aug.rotation_degrees is None else
                                    f" (up to {_number(aug.rotation_degrees)}° either way)")
    if step == "brightness":
        return "random brightness" + ("" if aug.brightness is None else
                                      f" (a shift of up to ±{_number(aug.brightness)} of the pixel range)")
    if step == "contrast":
        return "random contrast" + ("" if aug.contrast is None else f" (a factor of 1 ± {_number(aug.contrast)})")
    return step  # a step this liteship does not know: its name, as the card holds it


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _readable(entry) -> bool:
    """An ``augment`` entry as liteship writes it: steps named by text, each setting a number or a pair of them."""
    if not isinstance(entry, dict) or not isinstance(entry.get("steps"), list):
        return False
    pairs = all(isinstance(entry[k], list) and len(entry[k]) == 2 and all(map(_is_number, entry[k]))
                for k in ("crop_area", "crop_aspect_ratio") if k in entry)
    numbers = all(_is_number(entry[k]) for k in ("rotation_degrees", "brightness", "contrast") if k in entry)
    return all(isinstance(s, str) for s in entry["steps"]) and pairs and numbers \
        and isinstance(entry.get("default"), (str, type(None)))


def augmentation_words(card: dict) -> tuple[str, str]:
    """(the augmentation, whose choice it was) as a card records it: "random resized crop (area 0.08–1 of the
    image, aspect ratio 3/4–4/3), random horizontal flip" and "the default for photos"; "none" and
    "the default for the built-in digits"; :data:`BEFORE` and "–" for a card made before augmentation existed."""
    from liteship.trainer import Augmentation

    if "augment" not in card:
        return BEFORE, "–"
    entry = card["augment"]
    if not _readable(entry):
        return "unknown: the card's augment entry is not one liteship writes", "–"
    aug = Augmentation.from_record(entry)
    words = ", ".join(_step_words(s, aug) for s in aug.steps) or "none"
    default = entry.get("default")
    return words, OWN_SETTING if default is None else DEFAULTS.get(default, f"the default for {default}")


def trained(card: dict, model: str) -> Trained:
    """What ``card`` (a float model's card.json, read) says of the training of ``model``."""
    words, set_by = augmentation_words(card)
    counts = card.get("counts") if isinstance(card.get("counts"), dict) else {}
    train = counts.get("train")
    classes = card.get("classes")
    return Trained(model, words, set_by, len(classes) if isinstance(classes, list) else None,
                   train if isinstance(train, int) and not isinstance(train, bool) else None)


def read_trained(run_dir: str | Path, models) -> list[Trained]:
    """Each model's :class:`Trained`, from ``run_dir/float/<model>/card.json``; a card that is missing or unreadable
    is said as such (the report and the release still render)."""
    out = []
    for model in dict.fromkeys(models):
        path = Path(run_dir) / FLOAT / model / CARD
        if model in ("", ".", "..") or Path(model).name != model or "\\" in model:  # never read beside float/
            out.append(Trained(model, "unknown: the records name no float model folder", "–"))
            continue
        try:
            out.append(trained(read_card(path.parent), model))
        except FileNotFoundError:
            out.append(Trained(model, f"unknown: {FLOAT}/{model}/{CARD} is missing", "–"))
        except LiteshipError as exc:  # "<path> is damaged: <why>", said with the run's own name of the file
            out.append(Trained(model, "unknown: " + exc.what.replace(str(path), f"{FLOAT}/{model}/{CARD}"), "–"))
        except OSError as exc:
            out.append(Trained(model, f"unknown: {FLOAT}/{model}/{CARD} is unreadable ({exc.strerror})", "–"))
    return out


def augmentation_note() -> str:
    """What augmentation touches and what it never does, and how to set it: said once beside the models' rows."""
    return (f"Augmentation changes only the images a training step sees: {NEVER_AUGMENTED.format('')}; {FINE_TUNING}. "
            f"{HOW_TO_SET[:1].upper()}{HOW_TO_SET[1:]}.")


def trained_md(t: Trained | None) -> list[str]:
    """MODEL.md's section on how the shipped variant's float model was trained."""
    if t is None:
        return []
    images = "" if t.train_images is None else f", {t.train_images:,} training images" + (
        "" if t.classes is None else f" of {t.classes} classes")
    return ["## Training", "",
            f"- float model `{t.model}` (`{FLOAT}/{t.model}/{CARD}`){images}",
            f"- augmentation while training: {t.line()}",
            f"- {FINE_TUNING}",
            f"- {NEVER_AUGMENTED.format(' (the preprocessing above)')}", ""]
