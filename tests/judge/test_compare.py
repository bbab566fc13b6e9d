"""liteship compare: a pull request's run against main's, with changes whose verdicts are known by hand."""

import json

from liteship.app.cli import main

TOOL = {"valgrind": "valgrind-3.19.0", "ai-edge-litert": "2.3.0", "liteship": "0.1.0"}


def _rec(recipe, size=100_000, gzip=90_000, per_invoke=3_000_000, tool=TOOL, correct="1" * 90 + "0" * 10,
         p50=1.0, ci=(0.98, 1.02), model="small_cnn_32"):
    return {"variant": recipe[:4], "model": model, "recipe": recipe, "arch": None, "alpha": None, "size": 32,
            "backend": "xnnpack", "threads": 1, "runtime": "", "kind": "run", "status": "ok", "size_bytes": size,
            "gzip_bytes": gzip, "params": None, "sparsity": None, "top1": correct.count("1") / len(correct),
            "images": len(correct), "correct": correct, "data": {"content_hash": "h", "members": "m"},
            "top1_ci": [0.8, 0.95], "system": {"cpu": "x86"},
            "instructions": {"per_invoke": per_invoke, "tool": tool} if per_invoke else None,
            "latency_ms": {"init": 1, "first": 1, "p50": p50, "p90": p50, "p99": p50, "mean": p50, "std": 0, "cv": 0,
                           "min": p50, "runs": 10, "rounds": 2, "ci_low": ci[0], "ci_high": ci[1]}}


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_each_metric_is_judged_as_its_nature_allows(tmp_path, capsys):
    base = _write(tmp_path / "base.jsonl", [_rec("int8"), _rec("float32"), _rec("prune_int8"), _rec("qat_int8")])
    new = _write(tmp_path / "new.jsonl", [
        # int8: 0.5 % bigger (any growth fails), 0.67 % more instructions (under 1 %), two images fewer right
        # (a 2 pt drop), 5 % slower in wall time while its float32 is 30 % slower: -19.2 % relative to float32
        _rec("int8", size=100_500, per_invoke=3_020_000, correct="1" * 88 + "0" * 12, p50=1.05, ci=(1.04, 1.06)),
        # float32: 2 % more instructions counted by another valgrind: not comparable; 30 % slower in wall time,
        # which two runs cannot judge (it is the reference the others are timed against)
        _rec("float32", per_invoke=3_060_000, tool={**TOOL, "valgrind": "valgrind-3.22.0"}, p50=1.3, ci=(0.9, 1.7)),
        # 2 % more instructions: fails; 1.8 ms beside float32's 1.3 ms where it was 1.0 beside 1.0: +38.5 %
        # relative to float32, over the 30 % threshold: fails
        _rec("qat_int8", per_invoke=3_060_000, p50=1.8, ci=(1.79, 1.81)),
        _rec("cluster_int8"),  # added; prune_int8 removed
    ])
    out_md, out_json = tmp_path / "c.md", tmp_path / "c.json"
    assert main(["compare", base, new, "--markdown", str(out_md), "--json", str(out_json)]) == 1
    printed = capsys.readouterr().out
    verdicts = {(c["key"][1], c["metric"]): c for c in json.loads(out_json.read_text())["changes"]}
    assert verdicts[("int8", "size_bytes")]["verdict"] == "FAILED" and verdicts[("int8", "size_bytes")]["change"] == 0.005
    assert verdicts[("int8", "instructions")]["verdict"] == "ok"
    assert verdicts[("int8", "top1")]["verdict"] == "FAILED" and verdicts[("int8", "top1")]["change"] == 0.02
    assert "paired, 100 images" in verdicts[("int8", "top1")]["note"]
    relative = verdicts[("int8", "p50_vs_float32")]
    assert relative["verdict"] == "ok" and relative["change"] == round(1.05 / 1.3 - 1, 6)
    assert verdicts[("qat_int8", "p50_vs_float32")]["verdict"] == "FAILED"
    assert verdicts[("qat_int8", "p50_vs_float32")]["change"] == round(1.8 / 1.3 - 1, 6)
    assert verdicts[("float32", "instructions")]["verdict"].startswith("not judged")
    assert verdicts[("float32", "p50_ms")]["verdict"] == "not judged: two runs' wall time"
    assert ("int8", "p50_ms") not in verdicts  # a variant's wall time alone is never judged
    assert verdicts[("qat_int8", "instructions")]["verdict"] == "FAILED"
    assert json.loads(out_json.read_text())["failed"] == 4
    assert "added    small_cnn_32 cluster_int8 xnnpack@1" in printed and "removed  small_cnn_32 prune_int8" in printed
    first = out_md.read_text().splitlines()[0]
    assert first.startswith("**liteship compare FAILED: 4 of") and "1 added, 1 removed" in first


def test_an_unchanged_run_passes(tmp_path, capsys):
    base = _write(tmp_path / "base.jsonl", [_rec("int8")])
    again = _write(tmp_path / "again.jsonl", [_rec("int8", p50=1.01)])  # timed again (the same file, a copy: exit 2)
    assert main(["compare", base, again]) == 0
    assert "compare passed: 0 of" in capsys.readouterr().out


def test_a_missing_or_empty_baseline_is_exit_2(tmp_path, capsys):
    new = _write(tmp_path / "new.jsonl", [_rec("int8")])
    assert main(["compare", str(tmp_path / "nowhere"), new]) == 2
    assert "BASE = " in (err := capsys.readouterr().err) and "neither a results.jsonl nor a run directory" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["compare", str(empty), new]) == 2
    assert "hold no measured variant" in capsys.readouterr().err


def test_compare_of_a_run_directory_reads_only_current_variants(swept, tmp_path):
    """A stale int8 record written after the current one, with the same key: compare must not judge it."""
    import json
    import shutil

    from liteship.judge.compare import Thresholds, compare, read_side

    out, _, _ = swept
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".liteship.lock"))
    clean = tmp_path / "clean.jsonl"
    shutil.copyfile(run / "results.jsonl", clean)
    lines = (run / "results.jsonl").read_text().splitlines()
    current = json.loads(next(line for line in lines if '"recipe": "int8"' in line))
    stale = {**current, "variant": "0123456789ab", "size_bytes": current["size_bytes"] * 3,
             "gzip_bytes": current["gzip_bytes"] * 3}
    (run / "results.jsonl").write_text("\n".join([*lines, json.dumps(stale)]) + "\n")
    changes, _, _ = compare(read_side(run, "base"), read_side(clean, "new"), Thresholds())
    sizes = [c for c in changes if c.metric == "size_bytes" and c.key[1] == "int8"]
    assert sizes and all(c.change == 0 and c.verdict == "ok" for c in sizes)
