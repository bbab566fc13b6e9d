"""Settings stay typed on the way to a job: a training job gets the model's TrainConfig and a Ray bench task the
sweep's BenchOptions, each an object equal to the one the driver planned with (pickled, as a worker gets it), never
a dict rebuilt into the class on the other side."""

import pickle
import shutil
import sys
import types
from dataclasses import replace

from liteship.bench import BenchOptions
from liteship.trainer import TrainConfig
from liteship.workflow.executors import LocalExecutor
from liteship.workflow.pipeline import SweepWork
from liteship.workflow.plan import TrainKey, plan_benches, plan_train
from liteship.workflow.schedule import Job


def received(data, config, files):
    """Stands in for train_unit in a worker process: what the job was given, sent back as the worker has it."""
    return {"type": f"{type(config).__module__}.{type(config).__qualname__}", "config": config}


def test_a_training_job_gets_the_planned_train_config_on_a_worker_process(tmp_path):
    # settings off their defaults, and a None (alpha) resolved or kept as planned
    config = replace(TrainConfig(arch="small_cnn", size=16, epochs=2), learning_rate=0.0123, seed=7)
    trains = plan_train(tmp_path, "digits", [config])
    assert [u.done for u in trains] == [False]
    work = SweepWork(tmp_path, "digits", trains, [], {}, BenchOptions(), steps=None)
    [job] = work.start()
    assert job.key == TrainKey(config.model_dir_name)
    got = []
    LocalExecutor(workers=2).run([Job(job.key, received, job.args, lambda result: got.append(result) or [])])
    assert got[0]["type"] == "liteship.trainer.training.TrainConfig" and got[0]["config"] == config


def test_a_ray_bench_task_gets_the_sweep_bench_options(swept, tmp_path, monkeypatch):
    """Ray replaced by a stand-in that pickles each task's arguments and runs the task here; bench_run records the
    options it is given."""
    import liteship.bench
    from liteship.workflow.executors import RayExecutor

    out = tmp_path / "run"
    shutil.copytree(swept[0], out, ignore=shutil.ignore_patterns(".liteship.lock"))
    tasks = {}

    def remote(**_):
        def task(fn):
            def submit(*args):
                tasks[len(tasks)] = (fn, pickle.loads(pickle.dumps(args)))  # what crosses to a Ray worker
                return len(tasks) - 1
            return types.SimpleNamespace(remote=submit)
        return task

    fake = types.SimpleNamespace(is_initialized=lambda: True, cluster_resources=lambda: {"CPU": 2.0}, remote=remote,
                                 wait=lambda pending, num_returns: (pending[:1], pending[1:]),
                                 get=lambda ref: tasks[ref][0](*tasks[ref][1]),
                                 get_runtime_context=lambda: types.SimpleNamespace(get_node_id=lambda: "f" * 20))
    monkeypatch.setitem(sys.modules, "ray", fake)
    given = []
    monkeypatch.setattr(liteship.bench, "bench_run", lambda root, options, *a, **k: given.append(options) or [])
    options = BenchOptions(backends=("xnnpack", "gpu"), threads=(1, 2), runs=10, batch=4)
    units = plan_benches(out, options)
    RayExecutor("10.0.0.1:6379").bench(out, options, units, lambda target, recs: None)
    sent = [args[1] for fn, args in tasks.values()]  # the options as they crossed to the task, before bench_unit
    assert len(given) == len(sent) == len(units) == 3
    assert all(type(o) is BenchOptions and o == options for o in sent)
    assert all(type(o) is BenchOptions and o == options for o in given)
    assert all(o.threads == (1, 2) and o.backends == ("xnnpack", "gpu") for o in given)  # tuples, as made
