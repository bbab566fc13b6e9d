"""judge: budgets, the gate, the pick and the release bundle. Works on bench records alone."""

from liteship.judge.budgets import DEFAULT_BUDGETS, Budgets, Verdict, judge, load_budgets
from liteship.judge.gate import VariantVerdict, gate
from liteship.judge.pick import NothingPasses, pick

__all__ = ["DEFAULT_BUDGETS", "Budgets", "NothingPasses", "VariantVerdict", "Verdict", "gate", "judge",
           "load_budgets", "pick"]
