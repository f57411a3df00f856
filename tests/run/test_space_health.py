"""The shipped spaces are healthy: their random draws train.

10 seeded random draws of each shipped space train on the first of 5 folds (Keras) of the task's
built-in data; at most 10 % (one draw) may end at chance, i.e. below chance + ½·(default − chance) (see
``automl.run.health``). To keep the suite fast the check is stricter than a search: at most 10
epochs per draw (and the default; 8 for image and tabular), image on a stratified sample of 600 rows
and text, which learns from fewer examples per word, on 800.
``benchmarks/space_health.py`` measures every space as a search trains it: all the data, the
space's own epochs, both backends, more draws. (20 draws per space took 12 of the suite's 37
minutes; 10 still fail a space where a third of the draws end at chance 90 % of the time, 20 did 98 %.)
"""

from __future__ import annotations

import pytest

from automl.run.health import MAX_AT_CHANCE, check_space_health
from automl.run.settings import SearchSettings
from automl.space import load_space, shipped_spaces

ROWS = {"image": 600, "text": 800, "tabular": None}
MAX_EPOCHS = {"image": 8, "text": 10, "tabular": 8}


@pytest.mark.parametrize("name", sorted(shipped_spaces()))
def test_at_most_a_tenth_of_the_random_draws_end_at_chance(name: str) -> None:
    task = load_space(name).task or "image"
    report = check_space_health(
        SearchSettings(task=task, space=name), draws=10, seed=0, max_rows=ROWS[task], max_epochs=MAX_EPOCHS[task]
    )
    at_chance = [(d.number, round(d.score, 3), d.config) for d in report.draws if report.at_chance(d)]
    assert report.fraction_at_chance <= MAX_AT_CHANCE, (report.chance, report.default_score, at_chance)
    assert report.default_score > report.chance + 0.3  # the default configuration itself learns
    for draw in report.draws:  # each trained draw records its learning curve, one score per epoch
        if draw.failed is None:
            assert 1 <= len(draw.curve) == len(draw.epoch_ends) <= MAX_EPOCHS[task], draw.number
            assert draw.epoch_ends == sorted(draw.epoch_ends) and draw.epoch_ends[-1] <= draw.seconds
