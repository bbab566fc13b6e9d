"""The report's "Float models" section says, per float model, the augmentation its training ran (each step with its
settings) and whose choice it was, from cards written here by hand: the photo default (MediaPipe Model Maker's crop,
area 0.08-1.0, aspect ratio 3/4-4/3, then a horizontal flip), the digits' default (none), the run's own setting, a
card made before liteship augmented (no "augment" key: none, and said so), a card missing or damaged (unknown,
never a guess). The expected words are written out here, not taken from the code that renders them."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from liteship.report import build
from tests.judge.test_findings import FLOAT, rec

PHOTOS = {"steps": ["crop", "flip"], "default": "photos", "crop_area": [0.08, 1.0],
          "crop_aspect_ratio": [0.75, 1.3333333333333333], "said": "crop (...), flip; the default for photos"}
DIGITS = {"steps": [], "default": "digits", "said": "none; the default for digits"}
OWN = {"steps": ["crop", "rotate", "brightness", "contrast"], "default": None, "crop_area": [0.64, 1.0],
       "crop_aspect_ratio": [0.9, 1.1], "rotation_degrees": 20.0, "brightness": 0.1, "contrast": 0.3}
OWN_SETTING = "the run's own setting (`[train] augment`, `--augment` or `augment=`)"
OFF = {"steps": [], "default": None, "said": "none"}


def _card(classes: int, train: int, augment=None) -> dict:
    card = {"arch": "small_cnn", "classes": [f"c{i}" for i in range(classes)],
            "counts": {"train": train, "val": 10, "test": 10}, "test_top1": 0.9}
    return card if augment is None else {**card, "augment": augment}


def _run(tmp_path) -> tuple[str, list]:
    """A run directory with a float model of each kind, and a float32 record of each."""
    cards = {"photos_m": _card(6, 1200, PHOTOS), "digits_m": _card(10, 1259, DIGITS), "own_m": _card(3, 90, OWN),
             "off_m": _card(3, 90, OFF), "old_m": _card(2, 40)}
    for model, card in cards.items():
        (tmp_path / "float" / model).mkdir(parents=True)
        (tmp_path / "float" / model / "card.json").write_text(json.dumps(card))
    (tmp_path / "float" / "bad_m").mkdir(parents=True)
    (tmp_path / "float" / "bad_m" / "card.json").write_text("{not json")
    models = [*cards, "bad_m", "gone_m"]
    return str(tmp_path), [rec("float32", FLOAT, model=m) for m in models]


def _md_rows(markdown: str) -> dict[str, list[str]]:
    """The Float models table's rows by model, its cells as Markdown shows them."""
    section = markdown[markdown.index("### Float models"):]
    section = section[:section.index("<details>")]  # the next section, Per backend, is folded
    table = [line for line in section.splitlines() if line.startswith("|")][2:]  # after the header and its rule
    rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in table]
    return {cells[0]: cells[1:] for cells in rows}


def test_each_float_model_says_its_augmentation_and_whose_choice_it_was(tmp_path):
    run_dir, records = _run(tmp_path)
    rows = _md_rows(build(records, None, [], run_dir).markdown)
    assert rows["photos_m"] == ["6", "1,200", "random resized crop (area 0.08–1 of the image, aspect ratio "
                                "3/4–4/3), random horizontal flip", "the default for photos"]
    assert rows["digits_m"] == ["10", "1,259", "none", "the default for the built-in digits"]
    assert rows["own_m"] == ["3", "90", "random resized crop (area 0.64–1 of the image, aspect ratio 0.9–1.1), "
                             "random rotation (up to 20° either way), random brightness (a shift of up to ±0.1 of "
                             "the pixel range), random contrast (a factor of 1 ± 0.3)",
                             OWN_SETTING]
    assert rows["off_m"] == ["3", "90", "none", OWN_SETTING]
    # made before augmentation existed: it trained with none, and no default is claimed for it
    assert rows["old_m"] == ["2", "40", "none (trained before liteship augmented)", "–"]
    assert rows["gone_m"] == ["–", "–", "unknown: float/gone_m/card.json is missing", "–"]
    assert rows["bad_m"][:2] == ["–", "–"] and rows["bad_m"][2].startswith(
        "unknown: float/bad_m/card.json is damaged: it is not valid JSON") and str(tmp_path) not in rows["bad_m"][2]


def test_the_section_says_what_is_never_augmented_and_how_to_set_it(tmp_path):
    run_dir, records = _run(tmp_path)
    md = build(records, None, [], run_dir).markdown
    said = md[md.index("### Float models"):md.index("| model |", md.index("### Float models"))]
    for words in ("validation, the test split, int8 calibration and every accuracy measurement read the input "
                  "contract's pixels only, never augmented", "fine-tunes (pruning, QAT, clustering) trains with its "
                  "float model's augmentation", "`[train] augment`", "`--augment`", "`augment = []` for none"):
        assert words in said, words
    # between the variants and the per-backend tables, in both renderings
    assert md.index("### All variants") < md.index("### Float models") < md.index("Per backend")


class _Cells(HTMLParser):
    """The text of every table cell of the section with id 'training'."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells, self._in, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self._in = dict(attrs).get("id") == "training"
        elif tag == "td" and self._in:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_report_html_shows_the_same_words(tmp_path):
    run_dir, records = _run(tmp_path)
    page = build(records, None, [], run_dir).html
    cells = _Cells()
    cells.feed(page)
    assert ("random resized crop (area 0.08–1 of the image, aspect ratio 3/4–4/3), random horizontal flip"
            in cells.cells)
    assert "none (trained before liteship augmented)" in cells.cells
    assert cells.cells.count("the default for the built-in digits") == 1
    assert page.index("id='variants'") < page.index("id='training'") < page.index("id='backends'")


def test_the_trainer_s_own_record_reads_as_its_default(tmp_path):
    """The cards the trainer writes (its record of the photo and digits defaults, and of a setting) read as written
    by hand above: the report reads the trainer's format, not a copy of it."""
    from liteship.trainer import augment_entry, augmentation_of, TrainConfig

    for model, source, config in (("p", str(tmp_path / "photos"), TrainConfig()), ("d", "digits", TrainConfig()),
                                  ("o", "digits", TrainConfig(augment=("flip",)))):
        (tmp_path / "float" / model).mkdir(parents=True)
        card = _card(2, 10, augment_entry(augmentation_of(config, source)))
        (tmp_path / "float" / model / "card.json").write_text(json.dumps(card))
    rows = _md_rows(build([rec("float32", FLOAT, model=m) for m in "pdo"], None, [], str(tmp_path)).markdown)
    assert rows["p"][2:] == ["random resized crop (area 0.08–1 of the image, aspect ratio 3/4–4/3), random "
                             "horizontal flip", "the default for photos"]
    assert rows["d"][2:] == ["none", "the default for the built-in digits"]
    assert rows["o"][2:] == ["random horizontal flip", OWN_SETTING]


def test_an_augment_entry_liteship_does_not_write_is_unknown_not_a_crash(tmp_path):
    for model, entry in (("a", [1, 2]), ("b", {"steps": "crop"}), ("c", {"steps": ["crop"], "crop_area": "big"}),
                         ("d", None)):
        (tmp_path / "float" / model).mkdir(parents=True)
        (tmp_path / "float" / model / "card.json").write_text(json.dumps({"augment": entry}))
    rows = _md_rows(build([rec("float32", FLOAT, model=m) for m in "abcd"], None, [], str(tmp_path)).markdown)
    assert {m: r[2] for m, r in rows.items()} == {
        m: "unknown: the card's augment entry is not one liteship writes" for m in "abcd"}


def test_a_model_name_that_is_not_a_folder_name_reads_nothing_outside_float(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps(_card(2, 10, PHOTOS)))  # float/../card.json: never read
    rows = _md_rows(build([rec("float32", FLOAT, model="..")], None, [], str(tmp_path)).markdown)
    assert rows[".."] == ["–", "–", "unknown: the records name no float model folder", "–"]


def test_no_run_directory_no_section():
    md = build([rec("float32", FLOAT, model="m")], None, [], "").markdown
    assert "Float models" not in md


def test_one_row_per_model_however_many_records_it_has(tmp_path):
    (tmp_path / "float" / "m").mkdir(parents=True)
    (tmp_path / "float" / "m" / "card.json").write_text(json.dumps({"classes": ["a", "b"], "counts": {"train": 9}}))
    md = build([rec("float32", FLOAT, model="m"), rec("int8", FLOAT, model="m"),
                rec("int8", FLOAT, model="m", backend="gpu")], None, [], str(tmp_path)).markdown
    start = md.index("### Float models")
    section = md[start:md.index("<details>", start)]
    assert sum(line.startswith("| m |") for line in section.splitlines()) == 1


def test_an_unreadable_card_is_said_with_the_systems_reason(tmp_path, monkeypatch):
    from liteship.judge import trained

    def refused(path):
        raise PermissionError(13, "Permission denied")

    (tmp_path / "float" / "m").mkdir(parents=True)
    monkeypatch.setattr(trained, "read_card", refused)
    (t,) = trained.read_trained(tmp_path, ["m"])
    assert t.augmentation == "unknown: float/m/card.json is unreadable (Permission denied)"


def test_a_setting_is_said_to_four_significant_digits():
    from liteship.judge.trained import augmentation_words

    words, _ = augmentation_words({"augment": {"steps": ["brightness"], "default": None, "brightness": 0.1234}})
    assert words == "random brightness (a shift of up to ±0.1234 of the pixel range)"
