"""Where the sweep's work runs: here (``local``, on one or more worker processes) or as Ray tasks (``ray``).

Executors run the jobs the sweep's pipeline hands them (:mod:`liteship.workflow.pipeline`)
and decide nothing themselves: each job is a plain function of its inputs
(train a model, make a chain of recipes, count a variant's instructions),
which gets the input files from the run directory as bytes and returns its
outputs as bytes; the driver writes them. So a worker needs no shared disk for
the run directory, and a job gives the same bytes in any process. Input data
must be readable at the same path on every worker (the built-in ``digits``
always is). Bench runs after every other job: locally in the driver with
nothing else of the sweep running, on Ray as tasks whose latency takes a
machine-wide lock (:func:`liteship.bench.latency.one_at_a_time_on_this_machine`),
so at most one is timed per node at a time.
"""

from __future__ import annotations

import os
import platform
import signal
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.baseline import is_baseline
from liteship.files import atomic_write_bytes
from liteship.progress import Progress
from liteship.workflow.schedule import Job, next_job
from liteship.workflow.workers import WorkerContext, died, end_workers, worker_started
from liteship.rundir import FLOAT, SPLIT, VARIANTS, claim

LATENCY_RESOURCE = "liteship_latency"


def pack(root: Path, rels: list[str]) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in rels if (root / rel).is_file()}


def unpack(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _unpacked(tmp: str, files: dict[str, bytes]) -> Path:
    """A job's temporary run directory: marked as liteship's (so its commands may write there), then its inputs."""
    root = claim(Path(tmp))
    unpack(root, files)
    return root


def files_under(root: Path, sub: str) -> list[str]:
    """The files under ``root/sub``, as paths relative to ``root``, sorted."""
    base = root / sub
    return [p.relative_to(root).as_posix() for p in sorted(base.rglob("*")) if p.is_file()] if base.is_dir() else []


# --------------------------------------------------------------------------- the units, as plain functions

def train_unit(data, config, files: dict[str, bytes]) -> dict[str, bytes]:
    """``config``: the model's :class:`~liteship.trainer.TrainConfig`, the object the driver planned with (pickled to
    the worker). ``data``: what ``--data`` names, read here, or the data set the driver read at the model's size
    (rows of the run's image cache: a few kilobytes pickled)."""
    from liteship.trainer import train

    with tempfile.TemporaryDirectory(prefix="liteship-train-") as tmp:
        root = _unpacked(tmp, files)
        result = train(data, config, root, Progress(quiet=True), deterministic=True, replace_split=True)
        return pack(root, [SPLIT, *files_under(root, f"{FLOAT}/{result.model_dir.name}")])


def optimize_unit(model: str, recipes: list[str], configs: dict, files: dict[str, bytes],
                  dataset=None) -> dict[str, bytes]:
    """``recipes``: one chain (:func:`liteship.optimize.recipe_chains`): recipes that reuse each other's work run
    in one call. ``configs``: their typed configs, the objects the driver planned with (pickled to the worker).
    ``dataset``: the data the driver read at the model's size (rows of the run's image cache), or None: read
    here."""
    from liteship.optimize import optimize_run

    with tempfile.TemporaryDirectory(prefix="liteship-optimize-") as tmp:
        root = _unpacked(tmp, files)
        optimize_run(root, list(recipes), configs, Progress(quiet=True), models=[model], deterministic=True,
                     datasets={dataset.size: dataset} if dataset is not None else None)
        return pack(root, files_under(root, VARIANTS))  # which variants are current is the driver's plan to record


def count_unit(variant: str, kinds: list[str], pixels, scored: bool, files: dict[str, bytes]) -> dict:
    """One variant's instruction counts of ``kinds`` (valgrind's x86 and each ISA under QEMU); no timing."""
    from liteship.bench import count_target

    with tempfile.TemporaryDirectory(prefix="liteship-count-") as tmp:
        root = _unpacked(tmp, files)
        return count_target(root / VARIANTS / f"{variant}.tflite", kinds, pixels, scored)


def bench_unit(variant: str, options, files: dict[str, bytes], node: str, counted: dict | None = None) -> list[dict]:
    """``options``: the sweep's :class:`~liteship.bench.BenchOptions`, the object itself (pickled to the worker)."""
    from liteship.bench import bench_run

    with tempfile.TemporaryDirectory(prefix="liteship-bench-") as tmp:
        root = _unpacked(tmp, files)
        records = bench_run(root, options, Progress(quiet=True), only={variant},
                            counted={variant: counted} if counted else None)
        return [replace(r, node=node).to_dict() for r in records]


# --------------------------------------------------------------------------- executors

class LocalExecutor:
    """Jobs on this machine: one after another in this process (``workers=1``), or on ``workers`` processes."""

    name = "local"
    shares_disk = True  # its workers read the driver's files (the run's image cache)

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self.timeline: list[dict] = []  # each job's label, and when it started and ended (seconds from the first)
        self._zero: float | None = None

    def _timed(self, job: Job, started: float) -> None:
        self._zero = started if self._zero is None else self._zero
        self.timeline.append({"key": job.key.label(), "start_s": round(started - self._zero, 2),
                              "end_s": round(time.perf_counter() - self._zero, 2)})

    def run(self, jobs: list[Job]) -> None:
        """Run ``jobs`` and every job they unlock, ready jobs longest path first."""
        ready = list(jobs)
        if self.workers == 1:
            while ready:
                job = next_job(ready)
                started = time.perf_counter()
                result = job.fn(*job.args)
                self._timed(job, started)
                ready += job.then(result)
            return
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        context = WorkerContext()
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=worker_started,
                                   initargs=(os.getpid(),))
        running: dict = {}
        try:
            while ready or running:
                while ready and len(running) < self.workers:
                    job = next_job(ready)
                    running[pool.submit(job.fn, *job.args)] = (job, time.perf_counter())
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job, started = running.pop(future)
                    self._timed(job, started)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:  # the pool's own thread reaps the dead worker: wait for it,
                        pool.shutdown(wait=True)       # or its exit code can still read as unknown (None)
                        raise died(job, exc, [p.exitcode for p in context.started]) from exc
                    ready += job.then(result)
        except BaseException:  # Ctrl-C, SIGTERM (liteship.signals.Terminated) or an error: a job mid-way is lost
            end_workers()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def bench(self, out: Path, options, units, on_done, counted: dict | None = None) -> None:
        """Bench here, after every other job: latency is timed with nothing else of the sweep running."""
        from liteship.bench import bench_run

        if units:
            bench_run(out, options, Progress(quiet=True), on_variant=on_done, only={u.target.variant for u in units},
                      counted=counted)


def _call(fn, *args):
    return fn(*args)


class RayExecutor:
    """Each job is a Ray task (retried if its worker dies)."""

    name = "ray"
    shares_disk = False  # a worker may be another machine: each job reads the data itself

    def __init__(self, address: str | None = None, crash_once: Path | None = None):
        """``crash_once``: a marker path; the first bench task to find it missing creates it and kills its
        own worker process (fault injection for tests of Ray's retry)."""
        self.crash_once = str(crash_once) if crash_once else None
        try:
            import ray
        except ImportError as exc:
            raise LiteshipError("--executor ray needs Ray, which is not installed", "Ray is an optional extra",
                                "pip install 'liteship[ray]'") from exc
        self.ray = ray
        if not ray.is_initialized():
            sigterm = signal.getsignal(signal.SIGTERM)
            kwargs = {"log_to_driver": False, "include_dashboard": False}
            host = (address or "127.0.0.1").rsplit(":", 1)[0]
            if host in ("127.0.0.1", "localhost"):
                # A Ray on this machine talks over loopback only, never the machine's network interface.
                kwargs["_node_ip_address"] = "127.0.0.1"
            try:
                _connect(ray, address, kwargs) if address else ray.init(**kwargs)
            except SystemExit as exc:  # ray.init's own SIGTERM handler: sys.exit(15)
                if exc.code != signal.SIGTERM:
                    raise
                from liteship.signals import Terminated

                raise Terminated() from None
            if sigterm is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, sigterm)  # ray.init takes SIGTERM over; it is liteship's again
        # Bench tasks serialize their timing per machine with a file lock; a cluster that also
        # offers the liteship_latency resource (one per node) gets it asked for as well.
        resources = {LATENCY_RESOURCE: 1} if ray.cluster_resources().get(LATENCY_RESOURCE) else {}
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._job = ray.remote(max_retries=3)(_call)
        self._bench = ray.remote(max_retries=3, resources=resources)(_bench_on_node)

    def _cancel(self, refs) -> None:
        """Ctrl-C, SIGTERM or an error: the tasks still running are ended on the cluster, not left to run."""
        for ref in refs:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished, or the cluster is gone: nothing left to end
                pass

    def _gather(self, refs: dict, on_result) -> None:
        pending = list(refs)
        try:
            while pending:
                ready, pending = self.ray.wait(pending, num_returns=1)
                on_result(refs[ready[0]], self.ray.get(ready[0]))
        except BaseException:
            self._cancel(pending)
            raise

    def run(self, jobs: list[Job]) -> None:
        """Every ready job is submitted at once; Ray places them on the cluster's workers."""
        ready, running = list(jobs), {}
        try:
            while ready or running:
                while ready:
                    job = next_job(ready)
                    running[self._job.remote(job.fn, *job.args)] = job
                done, _ = self.ray.wait(list(running), num_returns=1)
                job = running.pop(done[0])
                ready += job.then(self.ray.get(done[0]))
        except BaseException:
            self._cancel(running)
            raise

    def bench(self, out: Path, options, units, on_done, counted: dict | None = None) -> None:
        from liteship.bench import BenchRecord, write_results
        from liteship.bench import run_targets

        targets = run_targets(out)
        refs = {}
        for unit in units:
            target = unit.target
            f32 = next((t for t in targets if t.group == target.group and is_baseline(t.recipe)), None)
            rels = [SPLIT, *files_under(out, f"{FLOAT}/{target.group}")]
            for t in {target, f32} - {None}:
                rels += [f"{VARIANTS}/{t.variant}.json", f"{VARIANTS}/{t.variant}.tflite"]
            refs[self._bench.remote(target.variant, options, pack(out, rels), self.crash_once,
                                    (counted or {}).get(target.variant))] = target

        def finished(target, dicts):
            recs = [replace(BenchRecord.from_dict(d), model_path=str(out / VARIANTS / f"{target.variant}.tflite"))
                    for d in dicts]
            write_results(out, recs)
            on_done(target, recs)

        self._gather(refs, finished)


CONNECT_PROBE_S = 5  # a Ray head answers on its port at once; a wrong address is said within this
CONNECT_S = 60  # ray.init to a port that answers but is no Ray GCS retries for ever; liteship stops it here


def _host_port(address: str) -> tuple[str, int] | None:
    """The host and port of ``host:port`` or ``ray://host:port`` (IPv6 in brackets), or None (e.g. ``auto``)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdecimal():
        return None
    return host.strip("[]"), int(port)


def _connect(ray, address: str, kwargs: dict) -> None:
    """ray.init to a cluster's address, bounded: a port nothing answers on is said within CONNECT_PROBE_S, and a
    connection not made within CONNECT_S ends liteship with the same message (Ray would retry for minutes)."""
    import socket

    parsed = _host_port(address)
    fix = ("check the address (host:port of the head's GCS, as `ray start --head` printed it), that the cluster "
           "is up and that its port is open to this machine, or leave out --address to start a Ray here")
    if parsed is not None:
        host, port = parsed
        try:
            socket.create_connection((host, port), timeout=CONNECT_PROBE_S).close()
        except OSError as exc:
            reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or type(exc).__name__)
            raise LiteshipError(f"Cannot reach the Ray cluster at {address}",
                                f"a connection to port {port} of {host} failed within {CONNECT_PROBE_S} s "
                                f"({reason})", fix) from None
    stuck = LiteshipError(f"Cannot connect to the Ray cluster at {address}",
                          f"its port answers, but Ray did not connect within {CONNECT_S} s: it may not be a Ray "
                          "head's GCS port, or the cluster runs another Ray version", fix)
    watchdog = threading.Timer(CONNECT_S, _give_up, (stuck,))
    watchdog.daemon = True
    watchdog.start()
    try:
        ray.init(address=address, **kwargs)
    finally:
        watchdog.cancel()


def _give_up(error: LiteshipError) -> None:
    """ray.init cannot be interrupted: say what failed and end the process (nothing of the sweep has run yet)."""
    import sys

    from liteship.logs import console

    print(f"liteship sweep: error: {error.message}", file=console())
    console().flush()
    sys.stdout.flush()
    os._exit(error.exit_code)


def _bench_on_node(variant: str, options, files: dict[str, bytes], crash_once: str | None = None,
                   counted: dict | None = None) -> list[dict]:
    import os

    import ray

    if crash_once and not Path(crash_once).exists():
        Path(crash_once).write_text(variant)
        os._exit(1)  # the worker dies mid-task; Ray must retry the task elsewhere

    node = f"{platform.node()} (ray node {ray.get_runtime_context().get_node_id()[:12]})"
    return bench_unit(variant, options, files, node, counted)


def write_outputs(out: Path, files: dict[str, bytes]) -> None:
    """Write a unit's outputs atomically; JSON records last, so a record never points at a missing file."""
    for rel in sorted(files, key=lambda rel: (rel.endswith(".json"), rel)):
        atomic_write_bytes(out / rel, files[rel])


def make_executor(name: str, address: str | None = None, workers: int = 1):
    if name == "local":
        if address:
            raise LiteshipError("--address goes with --executor ray", "", "add --executor ray, or drop --address")
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(address)
    raise LiteshipError(f"Unknown executor {name!r}", "valid executors are: local, ray", "pass --executor local or ray")
