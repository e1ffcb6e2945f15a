"""Neighbourhood models state only the rules around their free cells: same costs as the model over every day."""

from __future__ import annotations

import random

import pytest

from clinicdesk.rostering.curtois import read_instance
from clinicdesk.rostering.solver.construct import greedy_roster
from clinicdesk.rostering.solver.model import build_model, forced_cells
from clinicdesk.rostering.solver.search import MINIMUM_WEIGHT, run_model

from .test_solver_construct import ward


def neighbourhoods(problem, rng: random.Random):
    n, days = len(problem.employees), problem.days
    people = rng.sample(range(n), 3)
    start = rng.randrange(0, days - 7)
    yield {(ei, d) for ei in people for d in range(start, start + 7)}  # a few people over a week
    start = rng.randrange(0, days - 3)
    yield {(ei, d) for ei in range(n) for d in range(start, start + 3)}  # everyone over three days
    yield {(ei, d) for ei in range(n) for d in range(days) if rng.random() < 0.08}  # a scatter of cells


def solve_both(problem, cells, forced, free):
    fixed = {k: v for k, v in cells.items() if k not in free}
    out = {}
    for partial in (True, False):
        rm = build_model(problem, fixed=fixed, soft_minimum=True, minimum_weight=MINIMUM_WEIGHT, forced=forced,
                         partial=partial)
        status, sub, objective, _ = run_model(rm, seconds=20, workers=1, hint=cells, linearization=2)
        assert status == "OPTIMAL"
        out[partial] = (objective, len(rm.model.proto.constraints))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_the_partial_model_gives_the_full_models_cost(seed):
    problem = ward()
    forced, _ = forced_cells(problem)
    cells = greedy_roster(problem, forced, seed=seed)
    rng = random.Random(seed)
    for free in neighbourhoods(problem, rng):
        out = solve_both(problem, cells, forced, free)
        assert out[True][0] == out[False][0]
        assert out[True][1] == out[False][1]


def test_a_long_plans_neighbourhood_is_a_small_model_with_the_same_cost(curtois):
    problem = read_instance(curtois / "Instance20.txt")
    forced, _ = forced_cells(problem)
    cells = greedy_roster(problem, forced, seed=1)
    free = {(ei, d) for ei in (0, 7, 19) for d in range(60, 74)}
    out = solve_both(problem, cells, forced, free)
    assert out[True][0] == out[False][0]
    assert out[True][1] == out[False][1]  # the rules left out were all kept by the given cells already
