"""judge: the drop vs float, budgets, the gate, the decision (with each model's front), the pick and the release
bundle (checked in the app's own paths), the report's warnings, and a run compared with its baseline, from bench
records and the run directory's files. A latency too close to call is measured again through :mod:`liteship.bench`."""

from liteship.judge.budgets import (backend_problem, Budgets, DEFAULT_BUDGETS, judge, LIMITS, load_budgets,
                                    runtime_blocked, runtime_failures, runtime_notes, scored_record, Verdict)
from liteship.judge.gate import gate, select, VariantVerdict
from liteship.judge.pick import NothingPasses, pick
from liteship.judge.baseline import drop_vs_float, drop_with_interval, float_record
from liteship.judge.compare import (Change, compare, load_thresholds, read_side, refuse_half_written, SAME_MEASUREMENTS,
                                   same_measurements, same_run, SAME_RUN_FIX, Thresholds, to_json)
from liteship.judge.decision import (BEST, decide, Decision, on_front, Option, PREFER_FIX, prefer_problem,
                                     PREFERENCES, shown_record)
from liteship.judge.findings import checked as checked_findings, Finding, findings
from liteship.judge.budgets import predicted as is_predicted
from liteship.judge.costs import count_profile, latency_source, phone_columns, PhoneColumn, PhoneCost, stands_in
from liteship.judge.phone_verdicts import backend_fix, named_in_run, stale as stale_prediction
from liteship.judge.trained import augmentation_note, read_trained, Trained

__all__ = ["augmentation_note", "backend_fix", "backend_problem", "BEST", "Budgets", "Change", "checked_findings", "compare", "count_profile", "decide", "Decision",
           "DEFAULT_BUDGETS", "drop_vs_float", "drop_with_interval", "Finding", "findings", "float_record", "gate",
           "is_predicted", "judge", "latency_source", "LIMITS", "load_budgets", "load_thresholds", "named_in_run", "NothingPasses", "on_front",
           "Option", "phone_columns", "PhoneColumn", "PhoneCost", "pick", "PREFER_FIX",
           "prefer_problem", "PREFERENCES", "read_side", "read_trained", "refuse_half_written", "runtime_blocked",
           "runtime_failures", "runtime_notes", "SAME_MEASUREMENTS", "same_measurements", "same_run", "SAME_RUN_FIX",
           "scored_record", "select", "shown_record", "stale_prediction", "stands_in", "Thresholds", "to_json", "Trained", "VariantVerdict", "Verdict"]
