"""The runtime the run's bench recorded as the app's ([bench] target_runtime) binds pick and the report as if the
budgets declared it; and MODEL.md never claims TFLite metadata a variant does not carry.

The hand-made run (records as bench writes them, benched with target_runtime "2.14"): float32 400 KB, int8 120 KB,
int4_weights 60 KB, all with the same answers on 200 images (no drop). int4_weights holds DEQUANTIZE v6, which TFLite
first runs in 2.18 (LiteRT's runtime_version.cc), and tflite-runtime 2.14 refused to load it. By hand: --prefer size
would take int4_weights (the smallest); 2.14 refuses it, so int8 (the next smallest) ships.
"""

from dataclasses import replace

from liteship.judge import Budgets, decide, judge
from liteship.judge.gate import VariantVerdict
from liteship.judge.metadata_words import metadata_state
from liteship.judge.release_docs import model_md
from liteship.report.sections import decision_section
from tests.judge.test_findings import FLOAT, rec

BUDGETS = Budgets(max_accuracy_drop=0.02, require_contract=False)
OPTIONS = {"runs": 10, "target_runtime": "2.14"}


def _real(loaded: bool) -> dict:
    return {"runtime": "tflite-runtime 2.14.0", "loaded": loaded, "agreement": 1.0 if loaded else None,
            "images": 200, "max_abs_diff": 0.0,
            "error": None if loaded else "Didn't find op for builtin opcode 'DEQUANTIZE' version '6'"}


def _benched(recipe: str, size: int, ops: dict, minimum: str, loaded: bool, options=OPTIONS):
    compat = {"ops": ops, "min_runtime": minimum, "target": options.get("target_runtime"), "real": _real(loaded)}
    return replace(rec(recipe, FLOAT, size=size), compat=compat, options=options)


def run(options=OPTIONS):
    return [_benched("float32", 400_000, {"CONV_2D v1": "1.5.0"}, "1.5.0", True, options),
            _benched("int8", 120_000, {"CONV_2D v3": "1.14.0"}, "1.14.0", True, options),
            _benched("int4_weights", 60_000, {"DEQUANTIZE v6": "2.18.0"}, "2.18.0", False, options)]


def decided(records, budgets=BUDGETS, prefer="size"):
    verdicts = [VariantVerdict(v, r.recipe, r.model, tuple(judge(budgets, v, [r], records)))
                for v, r in ((r.variant, r) for r in records)]
    return decide(records, budgets, prefer, verdicts)


def test_the_recorded_runtime_leaves_out_the_smallest_and_says_why():
    decision = decided(run())
    assert decision.chosen.variant == "mnv2-int8"  # the next smallest, by hand
    assert decision.budgets.target_runtime == "2.14"
    ((variant, why),) = decision.left_out
    assert variant == "mnv2-int4_weights" and "needs 2.18.0, app ships 2.14" in why and "DEQUANTIZE" in why
    assert "recorded" in decision.target_said and "2.14" in decision.target_said
    listed = {a.option.variant for a in decision.alternatives}
    assert "mnv2-int4_weights" not in listed and listed == {"mnv2-float32"}
    # the chosen one's own verdicts include the runtime's, passed
    (runtime,) = [v for v in decision.chosen.verdict.verdicts if v.id == "target_runtime"]
    assert runtime.passed


def test_without_a_recorded_runtime_the_smallest_ships():
    """The control: the same run benched with no target runtime picks int4_weights (so the test above can fail)."""
    decision = decided(run({"runs": 10}))
    assert decision.chosen.variant == "mnv2-int4_weights" and decision.left_out == () and decision.target_said == ""


def test_budgets_that_declare_another_runtime_win_and_say_so():
    decision = decided(run(), replace(BUDGETS, target_runtime="2.18"))
    assert decision.chosen.variant == "mnv2-int4_weights" and decision.left_out == ()
    assert decision.budgets.target_runtime == "2.18"
    assert "from the budgets, which win over 2.14" in decision.target_said


def test_nothing_passing_still_names_the_refused():
    decision = decided(run(), replace(BUDGETS, max_size_kb=80))  # only int4_weights is small enough
    assert decision.chosen is None and [v for v, _ in decision.left_out] == ["mnv2-int4_weights"]


def test_the_report_recommends_no_refused_variant():
    section = decision_section(decided(run()), "RUN", run())
    text = "\n".join(getattr(b, "text", "") for b in section.blocks)
    assert "**Ship `mnv2-int8`" in text
    assert "Left out, never recommended: 2.14 refuses `mnv2-int4_weights`" in text
    assert "Target_runtime 2.14 is the runtime the run's bench recorded as the app's ([bench] target_runtime); the " \
        "budgets declare none, so it is judged as if they did." in text  # where the target came from, a sentence
    rows = [row for b in section.blocks for row in getattr(b, "rows", ())]
    assert not [row for row in rows if "`mnv2-int4_weights`" in row]


CONTRACT = {"input": {"shape": [1, 32, 32, 3], "dtype": "float32"}, "output": {"shape": [1, 2], "dtype": "float32"}}
REFUSAL = ("3 tensor(s) hold int4 weights in blocks, whose scales MediaPipe's metadata writer drops (its schema "
           "predates them), after which LiteRT refuses the file: shipped without TFLite metadata")


def _md(records, variant_json: dict) -> str:
    decision = decided(records, replace(BUDGETS, target_runtime="2.18"))
    chosen = [r for r in records if r.variant == decision.chosen.variant]
    return model_md(decision, chosen, CONTRACT, ["a", "b"], "here", None, None, None, metadata_state(variant_json))


def test_model_md_never_claims_metadata_a_skipped_variant_lacks():
    for variant_json in ({"metadata": {"skipped": REFUSAL}}, {"metadata": None, "details": {"metadata_refusal": REFUSAL}}):
        text = _md(run(), variant_json)
        assert "carries TFLite metadata" not in text
        (line,) = [s for s in text.splitlines() if s.startswith("2. MediaPipe Tasks")]
        assert "carries NO TFLite metadata: " + REFUSAL in line
        assert "it refuses this model, whose input is float32" in line  # a float input needs the normalization


def test_model_md_says_metadata_where_it_was_written_and_none_where_not():
    written = {"metadata": {"writer": "mediapipe 0.10", "bytes_added": 900, "name": "m int8", "version": "v"}}
    assert "`model.tflite` carries TFLite metadata (the input's normalization" in _md(run(), written)
    text = _md(run(), {"metadata": None})
    assert "carries TFLite metadata" not in text and "the MediaPipe environment" in text


def test_model_md_names_what_was_left_out():
    decision = decided(run())
    chosen = [r for r in run() if r.variant == decision.chosen.variant]
    text = model_md(decision, chosen, CONTRACT, ["a", "b"], "here")
    budgets = text[text.index("## Budgets"):text.index("## Use it in the app")]
    assert "Left out: 2.14 refuses them" in budgets and "- `mnv2-int4_weights`: target_runtime FAILED" in budgets
    assert "\nTarget_runtime 2.14 is the runtime the run's bench recorded as the app's" in budgets
