"""Models from colleagues: damaged .tflite files end in exit 1 or 2 with a message, never a crash or hang."""

import numpy as np
import pytest

from liteship.app.cli import main


def _cases(good: bytes, rng) -> dict[str, bytes]:
    n = len(good)
    cases = {"empty": b"", "random": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "magic_only": b"TFL3",
             "header_magic": good[:8]}
    for i, cut in enumerate(np.linspace(16, n - 1, 10).astype(int)):
        cases[f"truncated_{i}_at_{cut}"] = good[:cut]
    for i in range(200):
        b = bytearray(good)
        # Flip bytes mostly in the flatbuffer's tables (the first and last KBs), where damage is structural.
        for _ in range(int(rng.integers(1, 16))):
            region = rng.integers(0, 3)
            pos = int(rng.integers(0, min(n, 2048))) if region == 0 else \
                int(rng.integers(max(0, n - 4096), n)) if region == 1 else int(rng.integers(0, n))
            b[pos] = int(rng.integers(0, 256))
        cases[f"mutant_{i:03d}"] = bytes(b)
    return cases


@pytest.mark.slow  # over 45 s: the CI's slow job runs it
def test_no_damaged_model_crashes_or_hangs_bench(optimized_run, tmp_path, capsys):
    out, variants = optimized_run
    # the float model's file: no TFLite metadata, so its last bytes are the flatbuffer's (a variant ends in the
    # labels zip MediaPipe's writer appends, which LiteRT never reads)
    good = (out / "float" / variants["int8"]["model"] / "model.tflite").read_bytes()
    rng = np.random.default_rng(0)
    outcomes: dict[int, list[str]] = {}
    for name, data in _cases(good, rng).items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        code = main(["bench", str(path), "--backends", "xnnpack,gpu", "--runs", "2", "--rounds", "1", "--warmup", "0",
                     "--quiet"])
        err = capsys.readouterr().err
        outcomes.setdefault(code, []).append(name)
        assert code in (0, 1, 2), (name, code)
        if code == 2:
            assert err.startswith("liteship bench: error: ") and "Traceback" not in err, (name, err)
        path.unlink()
    counts = {k: len(v) for k, v in sorted(outcomes.items())}
    print(f"malformed models: {sum(counts.values())} files, exit codes {counts}")
    for name in ("empty", "random", "magic_only", "header_magic"):
        assert name in outcomes[2]
    assert sum(1 for n in outcomes[2] if n.startswith("truncated")) == 10
    assert len(outcomes[2]) >= 20  # the mutants that broke the structure were refused, not run
    # A mutant that still loads is a valid model (a changed weight or scale): bench measures it.
    assert all(n.startswith("mutant") for n in outcomes.get(0, []))


@pytest.mark.parametrize("signal_name", ["SIGSEGV", "SIGABRT"])
def test_a_crash_in_the_child_becomes_a_clear_error(tmp_path, monkeypatch, signal_name):
    import signal
    import subprocess

    from liteship.bench import isolate
    from liteship.errors import LiteshipError

    def crashing_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, -getattr(signal, signal_name), "", "")

    monkeypatch.setattr(isolate.subprocess, "run", crashing_run)
    with pytest.raises(LiteshipError, match=f"crashes the LiteRT interpreter \\({signal_name}"):
        isolate.probe(tmp_path / "m.tflite", ("xnnpack",))


def test_a_hang_in_the_child_becomes_a_clear_error(tmp_path, monkeypatch):
    import subprocess

    from liteship.bench import isolate
    from liteship.errors import LiteshipError

    def hanging_run(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs.get("timeout"))

    monkeypatch.setattr(isolate.subprocess, "run", hanging_run)
    with pytest.raises(LiteshipError, match="hangs the LiteRT interpreter"):
        isolate.probe(tmp_path / "m.tflite", ("xnnpack",), timeout=5)
