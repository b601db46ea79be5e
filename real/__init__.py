"""real/: the testbed's measurements on real models, in two subpackages.

``real.logs`` — the sample-log analysis library (users' logs -> pass@k, maj@k, SC gain, coverage).
``real.lab`` — the language-model lab (a JAX Llama trained by SFT and RLVR, sampled into sample logs).
Command line: ``python -m real {analyze, predict-sc, evaluate, rlvr}`` (console script ``rlvr-real``).
"""
