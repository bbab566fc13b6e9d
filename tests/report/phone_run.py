"""A hand-made run with every kind of phone cost, the numbers written here by hand (nothing read back from liteship):

- model mnv2, five variants timed on x86 (``xnnpack``, 1 thread): float32 0.40 ms, int8 0.60 ms (x86 times int8
  slower, as it often does), dynamic 0.50 ms, float16 0.42 ms, qat_int8 0.62 ms;
- counted on ``arm64-a15``: float32 5.0 M, int8 2.0 M, dynamic 3.0 M, float16 5.2 M, qat_int8 2.1 M instructions;
- measured on an iPhone 13 (``device:iphone-13``, its tool's median): float32 3.100 ms over 50 runs, int8 1.850 ms
  over 50 runs, float16 3.300 ms over 40 runs;
- predicted for the iPhone 13 from those three (``predicted:iphone-13``, built as the prediction contract says):
  dynamic 2.400 ms, 95 % interval 2.050-2.810 ms;
- qat_int8: counted after the import, so neither measured nor predicted: its count is all the phone column has.
"""

from dataclasses import replace

from liteship.bench import BenchRecord, Instructions, LatencyStats
from tests.judge.test_findings import FLOAT, rec

X86_MS = {"float32": 0.40, "int8": 0.60, "dynamic": 0.50, "float16": 0.42, "qat_int8": 0.62}
ARM_M = {"float32": 5_000_000, "int8": 2_000_000, "dynamic": 3_000_000, "float16": 5_200_000, "qat_int8": 2_100_000}
PHONE_MS = {"float32": (3.100, 50), "int8": (1.850, 50), "float16": (3.300, 40)}
PREDICTED_MS = {"dynamic": (2.400, 2.050, 2.810)}
A15 = {"qemu_cpu": "max,sve=off,sme=off", "midr": "0x610f0230", "features": ["asimd", "i8mm"], "phones": "A15"}


def x86(recipe: str, model: str = "mnv2") -> BenchRecord:
    p50 = X86_MS[recipe]
    return rec(recipe, FLOAT, p50=p50, ci=(p50 * 0.99, p50 * 1.01), model=model)


def arm(recipe: str, model: str = "mnv2", backend: str = "arm64-a15", per_invoke: int | None = None) -> BenchRecord:
    return replace(rec(recipe, FLOAT, model=model), backend=backend, kind="count", latency_ms=None,
                   instructions=Instructions(per_invoke=per_invoke or ARM_M[recipe], isa="aarch64"), emulation=A15,
                   reference_agreement=1.0, reference_max_diff=0.0)


def device(recipe: str, device_name: str = "iPhone 13", backend: str = "device:iphone-13", model: str = "mnv2",
           ms: float | None = None, runs: int | None = None, accelerator: str = "cpu", threads: int = 1
           ) -> BenchRecord:
    """A device backend's record as ``liteship device import`` makes one: the tool's median, no interval."""
    median, n = (ms, runs) if ms is not None else PHONE_MS[recipe]
    base = rec(recipe, FLOAT, model=model)
    return replace(base, backend=backend, kind="device", threads=threads, runtime=f"LiteRT 2.2.0 on {device_name}",
                   top1=None, images=None, correct=None, top1_ci=None, data=None, node=device_name,
                   latency_ms=LatencyStats(init=12.8, first=4.0, p50=median, p90=None, p99=None, mean=median,
                                           std=0.1, cv=None, min=median * 0.97, runs=n, rounds=None, ci_low=None,
                                           ci_high=None),
                   device={"device": device_name, "chip": "A15", "accelerator": accelerator, "threads": threads,
                           "runtime_version": "2.2.0", "os": "iOS 17.4", "runs": n,
                           "statistics": {"p50": "median", "p90": None, "p99": None}},
                   notes=("imported from phone.txt (benchmark_model stdout, matched by file name): p50 is the tool's "
                          "median; the tool gives no p90, p99 or interval",))


def predicted(recipe: str, device_name: str = "iPhone 13", backend: str = "predicted:iphone-13",
              model: str = "mnv2", rests_on: tuple[str, ...] = ("float32", "int8", "float16")) -> BenchRecord:
    """A predicted backend's record, field by field as the prediction contract writes one."""
    ms, low, high = PREDICTED_MS[recipe]
    base = rec(recipe, FLOAT, model=model)
    return replace(base, backend=backend, kind="predicted", threads=1, node=device_name, top1=None, images=None,
                   correct=None, top1_ci=None, data=None,
                   runtime=f"predicted for {device_name} from arm64-a15 instructions (LiteRT 2.2.0 on the device)",
                   latency_ms=LatencyStats(init=None, first=None, p50=ms, p90=None, p99=None, mean=None, std=None,
                                           cv=None, min=None, runs=None, rounds=None, ci_low=low, ci_high=high),
                   instructions=None,
                   device={"device": device_name, "chip": "A15", "chip_from": "--chip", "predicted": True,
                           "profile": "arm64-a15", "instructions": ARM_M[recipe],
                           "fit": {"form": "scale", "n": len(rests_on)},
                           "rests_on": [{"variant": f"{model}-{v}", "median_ms": PHONE_MS[v][0],
                                         "instructions": ARM_M[v], "source": "phone.txt", "source_sha256": "ab" * 32}
                                        for v in rests_on],
                           "statistics": {"p50": "predicted median", "p90": None, "p99": None},
                           "runtime_version": "2.2.0", "os": "iOS 17.4", "threads": 1, "accelerator": "cpu"},
                   notes=("predicted from arm64-a15 instructions, not measured: ms = 0.62 × G instructions; 95 % "
                          "prediction interval from the leave-one-out errors of 3 measurements (median 7 %, worst 16 %)",))


def phone_run() -> list[BenchRecord]:
    """Every record of the run described above."""
    recipes = list(X86_MS)
    return [*map(x86, recipes), *map(arm, recipes), *map(device, PHONE_MS), *map(predicted, PREDICTED_MS)]


def decision(records: list[BenchRecord], budgets, prefer: str = "accuracy"):
    """The decision pick would make on ``records``: one verdict per variant, judged as gate judges it."""
    from liteship.judge import decide, judge, VariantVerdict

    verdicts = []
    for v in dict.fromkeys(r.variant for r in records):
        mine = [r for r in records if r.variant == v]
        verdicts.append(VariantVerdict(v, mine[0].recipe, mine[0].model, tuple(judge(budgets, v, mine, records))))
    return decide(records, budgets, prefer, verdicts)
