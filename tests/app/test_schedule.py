"""The sweep's schedule: ranks, the simulated time on N workers and each unit's share of it, checked by hand;
recipe chains against the recipes' own reuse."""

import pytest

from liteship.workflow.pipeline import plan_nodes
from liteship.workflow.plan import BenchKey, ChainKey, CountKey, TrainKey
from liteship.workflow.schedule import Job, Node, next_job, ranks, simulate


def test_ranks_are_the_longest_path_of_costs_behind_each_node():
    nodes = [Node("a", 10), Node("b", 5, ("a",)), Node("c", 20, ("a",)), Node("d", 1, ("b",))]
    assert ranks(nodes) == {"a": 30, "b": 6, "c": 20, "d": 1}  # a: 10 + max(5 + 1, 20)


def test_two_workers_by_hand():
    # t=0: a (rank 30) and e (rank 4) start; t=4: e ends, nothing ready; t=10: a ends, c (20) and b (5) start;
    # t=15: b ends, d starts; t=16: d ends; t=30: c ends. Shares: a 4/2 + 6 = 8; e 4/2 = 2; c 5/2 + 1/2 + 14 = 17;
    # b 5/2; d 1/2. They add up to the makespan.
    nodes = [Node("a", 10), Node("b", 5, ("a",)), Node("c", 20, ("a",)), Node("d", 1, ("b",)), Node("e", 4)]
    sim = simulate(nodes, 2)
    assert sim.seconds == pytest.approx(30)
    assert sim.shares == pytest.approx({"a": 8, "e": 2, "c": 17, "b": 2.5, "d": 0.5})
    assert sum(sim.shares.values()) == pytest.approx(sim.seconds)


def test_one_worker_is_the_sum_and_alone_nodes_follow_everything():
    nodes = [Node("a", 10), Node("b", 5, ("a",)), Node("e", 4)]
    sim = simulate(nodes, 1, alone=[Node("bench", 7)])
    assert sim.seconds == pytest.approx(26) and sim.shares["bench"] == 7 and sim.shares["a"] == 10


def test_jobs_that_want_more_cores_than_there_are_share_them_by_hand():
    # Two cores. Two jobs each keeping both busy alone take twice as long side by side: 20 s, not 10.
    assert simulate([Node("x", 10, cpus=2), Node("y", 10, cpus=2)], 2, cores=2).seconds == pytest.approx(20)
    assert simulate([Node("x", 10), Node("y", 10)], 2, cores=2).seconds == pytest.approx(10)
    # a (6 s alone, 2 cores) beside b (3 s, 1 core): 3 cores wanted of 2, each at 2/3 of its speed; b's 3 s of
    # work end at t = 4.5, when a has done 3 of its 6; a alone does the rest by t = 7.5.
    sim = simulate([Node("a", 6, cpus=2), Node("b", 3, cpus=1)], 2, cores=2)
    assert sim.seconds == pytest.approx(7.5)
    assert sim.shares == pytest.approx({"a": 4.5 / 2 + 3, "b": 4.5 / 2})


def test_a_chain_shares_its_time_among_its_steps_by_their_costs():
    sim = simulate([Node("optimize m p+q", 30, steps=("optimize m p", "optimize m q"), weights=(10, 20))], 2)
    assert sim.shares == pytest.approx({"optimize m p": 10, "optimize m q": 20})


def test_equal_ranks_never_compare_the_keys():
    # Unit keys have no order: ties among ready nodes are broken by when they became ready, never by the key.
    # d (ready at the start, 4th node) and c (ready when a ends) have the same rank and the same place in line.
    a, b, c, d = (object() for _ in range(4))
    nodes = [Node(a, 1), Node(b, 2, (a,)), Node(c, 2, (a,)), Node(d, 2)]
    assert simulate(nodes, 1).seconds == pytest.approx(7)


def test_ready_jobs_start_longest_path_first_and_equals_in_order():
    ready = [Job("small", print, (), rank=5), Job("big", print, (), rank=50), Job("big too", print, (), rank=50)]
    assert [next_job(ready).key for _ in range(3)] == ["big", "big too", "small"]


def test_recipes_that_reuse_work_share_one_chain():
    from liteship.optimize import list_recipes, recipe_chains

    chains = recipe_chains([r.name for r in list_recipes()])
    # by hand, from the recipes' code: pqat_int8 prunes with prune_int8's pruned model; auto_int8's first step is
    # the int8 conversion and its last the qat_int8 recipe; no other recipe reads another's results.
    assert ("prune_int8", "pqat_int8") in chains and ("int8", "qat_int8", "auto_int8") in chains
    assert sorted(r for c in chains for r in c) == sorted(r.name for r in list_recipes())
    assert all(len(c) == 1 for c in chains if c[0] not in ("prune_int8", "int8"))
    assert recipe_chains(["pqat_int8", "float32"]) == [("pqat_int8",), ("float32",)]


def test_the_sweep_plan_waits_for_training_and_counts_wait_for_their_chain():
    costs = {TrainKey("m"): 100, ChainKey("m", ("int8",)): 5, ChainKey("m", ("qat_int8",)): 50,
             CountKey("m", "int8", "x86"): 3, CountKey("m", "qat_int8", "x86"): 3, BenchKey("m", "int8"): 2,
             BenchKey("m", "qat_int8"): 2}
    nodes, alone = plan_nodes(["m"], [("int8", "qat_int8")], ["x86"], costs)
    by_key = {n.key: n for n in nodes}
    chain = ChainKey("m", ("int8", "qat_int8"))
    assert by_key[chain].after == (TrainKey("m"),) and by_key[chain].cost == 55
    assert by_key[CountKey("m", "qat_int8", "x86")].after == (chain,)
    assert [n.key for n in alone] == [BenchKey("m", "int8"), BenchKey("m", "qat_int8")]
    # the labels users see (the progress line, logs/jobs.json), written out by hand
    assert [n.key.label() for n in nodes] == ["train m", "optimize m int8+qat_int8", "count m int8 x86",
                                              "count m qat_int8 x86"]
    assert [n.key.label() for n in alone] == ["bench m int8", "bench m qat_int8"]
    # the two x86 counts (3 s each alone, one core each) side by side: 3 s; the chain alone before them
    assert simulate(nodes, 2, alone, cores=2).seconds == pytest.approx(100 + 55 + 3 + 4)
