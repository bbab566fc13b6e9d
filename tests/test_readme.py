"""The README opens with the two set-up commands, and CI runs the test one; the rest of it is short and points
into the documentation site, where everything else it used to hold now lives (docs/: getting started, the
how-to pages, the references; the sweep config example that tests/judge/test_budgets_file.py reads is in
docs/reference/sweep-toml.md)."""

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


def test_readme_is_short_with_a_python_and_a_cli_example():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 80
    python = re.search(r"```python\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(python) <= 10 and python[0] == "import liteship"
    assert any("liteship.sweep(" in line for line in python) and any("liteship.pick(" in line for line in python)
    cli = re.findall(r"```sh\n(.*?)```", text, re.S)[1].strip().splitlines()
    assert len(cli) == 5 and all(line.startswith("liteship ") for line in cli)


def test_readme_links_resolve_and_reach_every_page_of_the_site():
    text = (ROOT / "README.md").read_text()
    links = [link for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if "://" not in link]
    assert [link for link in links if not (ROOT / link).exists()] == []
    nav = re.findall(r":\s+(\S+\.(?:md|ipynb))\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert len(nav) >= 15
    assert [page for page in nav if f"docs/{page}" not in links and page != "index.md"] == []
    assert "mkdocs serve" in text
