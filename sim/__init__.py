"""sim: a JAX simulator of RLVR (GRPO-style) training on a strategy bandit.

Modules (one concept each):
- ``sim.bank``: the bank of P problems x S strategies -> answers (difficulty, skills, attractor, eps, trap);
- ``sim.policy``: logits z = u + v, temperature, base-model initialisation;
- ``sim.shortcut``: a bank with explicit problem classes and a zero-absorbs shortcut (per-strategy,
  per-problem slips), its sampler, exact answer distribution, training run and held-out evaluation;
- ``sim.rollouts``: sampling rollouts (strategy, then answer with error consistency eps);
- ``sim.metrics``: exact answer distributions and exact / sampled checkpoint metrics;
- advantages come from ``theory.advantage_registry`` (one registry for the sim and the real trainer);
- ``sim.train``: one training step and a whole jitted run (lax.scan), vmappable over seeds / grids;
- ``sim.reference``: NumPy reference of one training step (and a slow NumPy run);
- ``sim.checkpoints``: ``checkpoints.npz`` save / load with validation.

Submodules are imported lazily by the user (``from sim.train import make_run``) so that importing
``sim`` itself stays cheap.
"""
