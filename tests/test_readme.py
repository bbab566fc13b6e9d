"""The README opens with the two set-up commands, and CI runs the second one."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_two_setup_commands_and_ci_runs_the_test_one():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    demo, test = block
    assert text.index("```sh") < 40  # right at the top, under the title
    assert demo.startswith("python3.11 -m venv .venv") and "liteship" in demo
    assert test.startswith("python3.11 -m venv .venv") and test.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    pattern = re.search(r"grep -m1 -E '(.*?)' README.md", ci).group(1)
    assert re.search(pattern, text, re.M).group(0) == test
