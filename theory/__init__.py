"""Closed forms and exact computations for voting, pass@k and RLVR advantages.

Modules (one concept each):
- ``voting``: plurality/majority accuracy, exact maj@k, self-consistency gain.
- ``passk``: unbiased pass@k, beta-binomial fits, cross-checkpoint union pass@k.
- ``advantage``: GRPO / Dr.GRPO / Pass@k-training advantages and their eta curves.
- ``exploration``: outcome-based exploration bonuses (UCB variants, batch bonus).
- ``rlpr``: probability rewards (RLPR) and the std filter.
- ``symbolic``: sympy derivations of the closed forms (``python -m theory.symbolic``).
"""
