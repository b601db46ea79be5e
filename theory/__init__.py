"""Closed forms and exact computations for voting, pass@k, coverage and RLVR advantages (imports only ``common``).

Modules (one concept each):
- ``voting``: plurality/majority accuracy, exact maj@k, self-consistency gain.
- ``passk``: unbiased pass@k, beta-binomial fits, cross-checkpoint union pass@k.
- ``coverage``: coverage over checkpoints' solved sets (Jaccard, retention, nestedness, rotation, churn).
- ``advantage``: GRPO / Dr.GRPO / Pass@k-training advantages and their eta curves.
- ``advantage_registry``: the one name -> advantage registry used by the simulator and the real trainer.
- ``exploration``: outcome-based exploration bonuses (UCB variants, batch bonus).
- ``rlpr``: probability rewards (RLPR) and the std filter.
- ``symbolic``: sympy derivations of the closed forms (``python -m theory.symbolic``).
"""
