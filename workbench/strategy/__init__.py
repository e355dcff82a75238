"""The strategy lab: replay email policies in a generated world and compare promise with truth.

- :mod:`~workbench.strategy.policies` -- mass send, the segment playbook, uplift targeting and
  random targeting, each decided from the observed data (:class:`~workbench.synth.replay.Plan`);
- :mod:`~workbench.strategy.lab` -- :func:`run_lab`: the policies' promises from the data, their
  true incremental conversions, revenue, unsubscribes, complaints and fatigue from replays in the
  world's response model, per policy and per segment, with intervals over replications;
- :mod:`~workbench.strategy.plots` -- the figures of notebook 06.
"""

from workbench.strategy.lab import LabResult, run_lab
from workbench.strategy.policies import POLICIES

__all__ = ["POLICIES", "LabResult", "run_lab"]
