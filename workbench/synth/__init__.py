"""Synthetic subscriber worlds with a known ground truth.

The package is a pipeline of four steps, one module each. A *scenario*
(``workbench/scenarios/NAME.toml``, read and checked by :mod:`~workbench.synth.scenario`) says
how many subscribers, which personas in which shares, the campaign calendar and the experiments;
the *personas* (``workbench/scenarios/personas.toml``, read into
:class:`~workbench.synth.personas.Persona` by :mod:`~workbench.synth.personas`) are the true
cohorts and their behaviour parameters. :mod:`~workbench.synth.calendar` lays the scenario out as
a day-by-day campaign calendar with the experiments attached. :mod:`~workbench.synth.simulate`
runs the base in chunks of subscribers (each with its own seed, so memory stays flat and the
result does not depend on the number of worker processes), and :mod:`~workbench.synth.generate`
streams each chunk's tables to Parquet and writes the world folder (``world.json``) and its truth;
:mod:`~workbench.synth.cache` keeps generated worlds by scenario, size and seed for notebooks.
So a new scenario knob goes into the scenario TOML format (a dataclass field and its check in
``scenario.py``, then its use in ``calendar.py`` or ``simulate.py``); a new persona is a table in
``personas.toml``; a new persona parameter is a :class:`~workbench.synth.personas.Persona` field
(with its check in ``personas.py``) used by ``simulate.py``; a new table is a builder in
``generate.py`` plus its schema in :mod:`workbench.schema`.

>>> from workbench.synth import generate_world
>>> generate_world("tiny", seed=0, out="datasets/generated/tiny-0")  # doctest: +SKIP

A world follows the contract of :mod:`workbench.schema` and adds five truth tables:
``truth_subscribers`` (persona, latent traits, the true dropout time and whether the subscriber
was still a customer at the end, and their orders in a holdout after the period),
``truth_effects`` (true conversion and revenue per persona x arm of every experiment),
``truth_responses`` (the same per participant: each one's expected conversion and revenue under
every arm, so the true uplift of each subscriber is known),
``truth_channels`` (incremental conversions per channel from a counterfactual run with common
random numbers) and ``truth_lifecycle`` (one row per lifecycle transition: subscriber_id, day, ts,
stage in new / active / lapsing / lapsed / reactivated), plus ``truth_scenario.json`` (the
scenario as simulated: persona mix and every persona's parameters; the holdout's length
``holdout_days``). Evaluation code loads them with :func:`workbench.truth.load_truth`;
``world.json`` keeps only what a user of the world may know. :mod:`~workbench.synth.replay`
re-simulates a world to the end of its period and replays email plans forward in its true
response model (the strategy lab).
``subscribers.email`` holds a synthetic address ``subscriber-<id>@example.com`` (a domain
reserved for examples, never a real one).

Every built-in scenario carries a randomised ``cadence_test`` (arms ``2_per_week`` = the usual
tue/thu broadcasts, ``1_per_week``, ``4_per_week``, ``6_per_week``) so that email volume varies
independently of engagement and each persona's fatigue threshold can be estimated; its
``truth_effects`` rows add the expected ``broadcasts_per_week``, ``open_rate`` (human opens per
delivered email) and ``unsubscribe_rate`` (per delivered email) of each persona under each arm.
See :mod:`workbench.synth.personas` for the persona parameters and :mod:`workbench.synth.scenario`
for the scenario TOML format.
"""

from workbench.synth.generate import GENERATOR_VERSION, generate_world
from workbench.synth.personas import PERSONAS, Persona
from workbench.synth.scenario import SCENARIOS, Scenario, load_scenario, parse_scenario

__all__ = [
    "GENERATOR_VERSION",
    "PERSONAS",
    "SCENARIOS",
    "Persona",
    "Scenario",
    "generate_world",
    "load_scenario",
    "parse_scenario",
]
