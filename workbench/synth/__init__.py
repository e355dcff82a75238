"""Synthetic subscriber worlds with a known ground truth.

>>> from workbench.synth import generate_world
>>> generate_world("tiny", seed=0, out="datasets/generated/tiny-0")  # doctest: +SKIP

A world follows the contract of :mod:`workbench.schema` and adds four truth tables:
``truth_subscribers`` (persona and latent traits), ``truth_effects`` (true conversion and revenue
per persona x arm of every experiment), ``truth_channels`` (incremental conversions per channel
from a counterfactual run with common random numbers) and ``truth_lifecycle`` (one row per
lifecycle transition: subscriber_id, day, ts, stage in new / active / lapsing / lapsed /
reactivated), plus ``truth_scenario.json`` (the scenario as simulated: persona mix and every
persona's parameters). Evaluation code loads them with :func:`workbench.truth.load_truth`;
``world.json`` keeps only what a user of the world may know.
``subscribers.email`` holds a synthetic address ``subscriber-<id>@example.com`` (a domain
reserved for examples, never a real one).

Every built-in scenario carries a randomised ``cadence_test`` (arms ``2_per_week`` = the usual
tue/thu broadcasts, ``1_per_week``, ``4_per_week``, ``6_per_week``) so that email volume varies
independently of engagement and each persona's fatigue threshold can be estimated; its
``truth_effects`` rows add the expected ``broadcasts_per_week``, ``open_rate`` (human opens per
delivered email) and ``unsubscribe_rate`` (per delivered email) of each persona under each arm.
See :mod:`workbench.synth.personas` for the personas and :mod:`workbench.synth.scenario` for the
scenario TOML format.
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
