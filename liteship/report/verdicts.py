"""Gate verdicts for people and CI: terminal lines, JUnit XML, a Markdown summary."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from liteship.judge import VariantVerdict


def render(results: list[VariantVerdict]) -> str:
    lines = []
    for vv in results:
        lines.append(f"{'PASS' if vv.passed else 'FAIL'} {vv.variant} ({vv.model} {vv.recipe})")
        for v in vv.verdicts:
            lines.append(f"    {v.message}")
    return "\n".join(lines)


def junit_xml(results: list[VariantVerdict]) -> str:
    suite = ET.Element("testsuite", name="liteship.gate", tests=str(sum(len(v.verdicts) for v in results)),
                       failures=str(sum(1 for vv in results for v in vv.verdicts if not v.passed)))
    for vv in results:
        for v in vv.verdicts:
            case = ET.SubElement(suite, "testcase", classname=f"liteship.{vv.model}.{vv.recipe}",
                                 name=f"{vv.variant}.{v.check}")
            if not v.passed:
                ET.SubElement(case, "failure", message=v.message).text = v.message
            else:
                ET.SubElement(case, "system-out").text = v.message
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"


def markdown_summary(results: list[VariantVerdict]) -> str:
    lines = ["## liteship gate", "", "| variant | model | recipe | check | measured | limit | margin | verdict |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for vv in results:
        for v in vv.verdicts:
            fmt = (lambda x: f"{x:.4g}" if isinstance(x, float) else ("–" if x is None else str(x)))
            lines.append(f"| `{vv.variant}` | {vv.model} | {vv.recipe} | {v.check} | {fmt(v.measured)} | "
                         f"{fmt(v.limit)} | {fmt(v.margin)} | {'✅' if v.passed else '❌'}"
                         f"{' (re-measured)' if v.remeasured else ''} |")
    passed = sum(vv.passed for vv in results)
    lines += ["", f"{passed} of {len(results)} variants pass every budget."]
    return "\n".join(lines) + "\n"
