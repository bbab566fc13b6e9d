"""Problems and LiteshipError survive pickle and copy with what they say: a process pool, joblib or Ray sends an
error back to the parent pickled, and a caller may deep-copy it."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from liteship.config import Problem, Problems
from liteship.errors import LiteshipError

PROBLEMS = [
    Problem("sweep.toml [bench]", "threads", "0", "it must be from 1 to 256", "give threads 1 or more"),
    Problem("workers", None, "0", "it must be 1 or more", "pass workers=2", count=3, python=True),
    Problem("the data path", None, "", "", "give a folder of class folders?"),
]
# The message, written out by hand from the three problems above (5 problems: 1 + 3 + 1).
MESSAGE = ("5 problems in the input; nothing was started or written:\n"
           "  - sweep.toml [bench] threads = 0: it must be from 1 to 256. Fix: give threads 1 or more.\n"
           "  - workers=0: it must be 1 or more. Fix: pass workers=2.\n"
           "  - the data path. Fix: give a folder of class folders?")


def _raise_in_worker(problems: list[Problem]) -> None:
    raise Problems(problems)


@pytest.mark.parametrize("through", ["pickle", "deepcopy", "copy"])
def test_problems_round_trip_with_its_problems(through):
    original = Problems(list(PROBLEMS))
    assert str(original) == MESSAGE
    again = {"pickle": lambda e: pickle.loads(pickle.dumps(e)), "deepcopy": copy.deepcopy,
             "copy": copy.copy}[through](original)
    assert type(again) is Problems and again is not original
    assert again.problems == PROBLEMS  # equal Problem by Problem, counts and python= included
    assert str(again) == MESSAGE and again.message == MESSAGE and again.exit_code == 2


def test_liteship_error_round_trips_with_what_why_and_fix():
    original = LiteshipError("Cannot read runs/a/results.jsonl", "line 3 is not JSON", "run liteship bench again")
    again = pickle.loads(pickle.dumps(original))
    assert (again.what, again.why, again.fix) == ("Cannot read runs/a/results.jsonl", "line 3 is not JSON",
                                                  "run liteship bench again")
    assert str(again) == ("Cannot read runs/a/results.jsonl. Line 3 is not JSON. Fix: run liteship bench again.")
    assert copy.deepcopy(original).message == original.message


def test_problems_raised_in_a_worker_process_reach_the_parent_whole():
    """What a process pool does: the worker pickles the exception, the parent unpickles it."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(Problems) as caught:
            pool.submit(_raise_in_worker, list(PROBLEMS)).result()
    assert caught.value.problems == PROBLEMS and str(caught.value) == MESSAGE
