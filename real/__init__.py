"""real/: the testbed's measurements on real models.

Issue 4 (sample-log analysis): ``counts`` (the checkpoint x problem x answer table), ``records`` and
``importers`` (log formats -> table, with rejected-row reports), ``answers`` (answer extraction and
equivalence), ``analysis`` (pass@k / maj@k / SC gain with intervals, attribution, negative-SC diagnosis,
coverage), ``predict`` (maj@K beyond the observed samples), ``report``; CLI ``python -m real``.
Issue 5 (a small real RLVR run): ``tokenizer``, ``task``, ``model`` (JAX Llama), ``sampler``, ``sft``.
"""
