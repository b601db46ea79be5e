"""real.logs: the sample-log analysis library (reads users' sample logs; never imports the language-model lab).

``schema`` (the sample-record format and the import report), ``table`` (the checkpoint x problem x
answer count table every analysis reads), ``importers`` (format detection and ``load_counts``; one module per input format in
``formats/``), ``answers`` (answer extraction and equivalence), ``analysis`` (pass@k / maj@k / SC gain with intervals, attribution,
negative-SC diagnosis, coverage), ``predict`` (maj@K beyond the observed samples), ``report``, ``training_logs``
(training-metric logs of TensorBoard, TRL, verl, W&B and the lab -> one tidy table), ``event_study`` (those logs on the
checkpoint timeline, the event study at negative-SC checkpoints).
"""
