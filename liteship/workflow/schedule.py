"""What runs after what, and on how many workers: jobs, the order ready jobs start in, and their simulated time.

A job is one unit of work a worker process runs alone: train a model, make a
chain of recipes of one model, count one variant's instructions on one ISA.
When it finishes, the driver writes its outputs and learns which jobs it
unlocks (:mod:`liteship.workflow.pipeline`). Ready jobs start longest path first
(list scheduling by rank: a job's own estimated seconds plus the longest path
of work behind it), so a MobileNet's training starts before a small CNN's.

:func:`simulate` plays the same policy on the estimated costs of the whole
plan: its makespan is the sweep's estimate, and each unit's share of it (its
seconds divided by how many units ran beside it) is what the progress line's
remaining time weighs finished units with. A job's cost is its time alone on
the machine; jobs side by side share the cores by how many each keeps busy
alone (``cpus``: TensorFlow's threads, a count one), so two jobs that each want
the whole machine take twice as long side by side.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


@dataclass(eq=False)
class Job:
    """One unit of work: ``fn(*args)`` runs in a worker (both picklable); ``then(result)`` runs in the driver,
    writes the outputs and returns the jobs this one unlocks. ``key``: the unit's key
    (:mod:`liteship.workflow.plan`), whose ``label()`` the timeline in ``logs/jobs.json`` shows."""

    key: Hashable
    fn: Callable
    args: tuple
    then: Callable[[Any], list["Job"]] = field(default=lambda result: [])
    rank: float = 0.0


def next_job(ready: list[Job]) -> Job:
    """Take the ready job with the longest path of work behind it (the first of equals)."""
    best = max(range(len(ready)), key=lambda i: (ready[i].rank, -i))
    return ready.pop(best)


@dataclass(frozen=True)
class Node:
    """A job of the plan, for the estimate: its key, estimated seconds, the keys it waits for, the keys of the
    progress steps it stands for (a chain of recipes is one job and several progress steps; default: its own)."""

    key: Hashable
    cost: float
    after: tuple[Hashable, ...] = ()
    steps: tuple[Hashable, ...] = ()
    weights: tuple[float, ...] = ()  # each step's part of the cost (default: equal parts)
    cpus: float = 1.0  # the cores it keeps busy when it runs alone


def ranks(nodes: list[Node]) -> dict[Hashable, float]:
    """Each node's cost plus the longest path of costs among the nodes waiting for it."""
    children: dict[Hashable, list[Node]] = {}
    for n in nodes:
        for parent in n.after:
            children.setdefault(parent, []).append(n)
    out: dict[Hashable, float] = {}

    def rank(n: Node) -> float:
        if n.key not in out:
            out[n.key] = n.cost + max((rank(c) for c in children.get(n.key, [])), default=0.0)
        return out[n.key]

    for n in nodes:
        rank(n)
    return out


@dataclass(frozen=True)
class Simulated:
    seconds: float  # the makespan
    shares: dict[Hashable, float]  # by progress step's key: the wall-clock seconds the unit accounts for


def simulate(nodes: list[Node], workers: int, alone: list[Node] = (), cores: int | None = None) -> Simulated:
    """The plan on ``workers`` workers, ready nodes by rank; then the ``alone`` nodes one after another with
    nothing beside them (timing). Each node's share: its running time divided among the nodes running with it.

    On ``cores`` cores (default: as many as workers), nodes running together whose ``cpus`` add up to more than
    the cores each progress at cores / that sum of its speed alone."""
    cores = cores or max(workers, 1)
    rank = ranks(nodes)
    waiting = {n.key: set(n.after) & {m.key for m in nodes} for n in nodes}
    by_key = {n.key: n for n in nodes}
    ready = [(-rank[k], i, i, k) for i, k in enumerate(by_key) if not waiting[k]]  # (rank, order, unique, key)
    heapq.heapify(ready)
    running: dict[Hashable, float] = {}  # key -> seconds of work left
    shares: dict[Hashable, float] = {}
    now, pushed = 0.0, len(by_key)
    while ready or running:
        while ready and len(running) < max(workers, 1):
            key = heapq.heappop(ready)[-1]
            running[key] = by_key[key].cost
        rate = min(1.0, cores / sum(by_key[k].cpus for k in running))
        step = min(running.values()) / rate
        for key in running:
            running[key] -= step * rate
            shares[key] = shares.get(key, 0.0) + step / len(running)
        now += step
        for key in [k for k, left in running.items() if left <= 1e-9]:
            del running[key]
            for other, deps in waiting.items():
                if key in deps:
                    deps.discard(key)
                    if not deps:
                        pushed += 1  # ties never reach the keys, which have no order
                        heapq.heappush(ready, (-rank[other], len(shares) + len(ready), pushed, other))
    for n in alone:
        shares[n.key] = n.cost
        now += n.cost
    by_step: dict[Hashable, float] = {}
    for n in [*nodes, *alone]:
        steps = n.steps or (n.key,)
        weights = n.weights if len(n.weights) == len(steps) and sum(n.weights) > 0 else (1.0,) * len(steps)
        for step, weight in zip(steps, weights):
            by_step[step] = by_step.get(step, 0.0) + shares.get(n.key, 0.0) * weight / sum(weights)
    return Simulated(now, by_step)
