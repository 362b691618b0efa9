"""Plug points: the learner's function replaces the reference, and grading refuses the reference."""

import pytest

from fromscratch import exercises
from fromscratch.api import quantity


def test_library_calls_the_plugged_learner_function():
    # once plugged, library code that calls parse_quantity runs the learner's version
    calls = []

    def parse_quantity(text):
        calls.append(text)
        return 7

    exercises.use(parse_quantity)
    assert quantity.cpu_millicores("anything") == 7000
    assert calls == ["anything"]
    assert exercises.plug_point("parse_quantity").calls_to_learner == 1
    exercises.use_reference("parse_quantity")
    assert quantity.cpu_millicores("250m") == 250


def test_using_unplugs_at_the_end_of_the_block_even_on_error():
    def parse_quantity(text):
        raise RuntimeError("learner bug")

    with pytest.raises(RuntimeError), exercises.using(parse_quantity):
        quantity.cpu_millicores("1")
    assert quantity.cpu_millicores("1") == 1000


def test_checking_refuses_the_reference_itself():
    with pytest.raises(exercises.NotOwnWork), exercises.checking(quantity.parse_quantity):
        pass


def test_checking_refuses_a_thin_wrapper_around_the_reference():
    # a learner function that delegates to the library fails inside the grading block
    def parse_quantity(text):
        return quantity.parse_quantity(text)

    with pytest.raises(exercises.NotOwnWork), exercises.checking(parse_quantity):
        parse_quantity("1")
    assert parse_quantity("1") == 1  # outside grading, delegation is allowed again


def test_checking_accepts_the_learners_own_function():
    def cpu_millicores(text):
        return 42

    with exercises.checking(cpu_millicores) as checked:
        assert checked("whatever") == 42


def test_the_reference_is_not_reachable_through_wrapped():
    assert not hasattr(quantity.parse_quantity, "__wrapped__")


def test_unknown_plug_point_names_the_known_ones():
    with pytest.raises(exercises.UnknownExercise, match="parse_quantity"):
        exercises.plug_point("no_such_exercise")


def test_use_refuses_the_reference():
    with pytest.raises(exercises.NotOwnWork):
        exercises.use(quantity.parse_quantity)


def test_registering_the_same_name_twice_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        exercises.pluggable("parse_quantity")(lambda text: 0)
