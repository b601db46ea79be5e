"""real.logs.formats: one module per input log format; ``real.logs.importers.load_counts`` is the entry
point that detects a file's format and calls the right one.

- ``records``: our sample records (``real.logs.schema``), JSONL / Parquet / CSV, with the vectorized paths;
- ``mapped``: the ``generic`` format (records under other field names): the field mapping every format
  takes, and the CSV text-cell rules;
- ``answer_counts``: answer -> count per (checkpoint ×) problem (JSONL);
- ``binary_counts``: n_samples / n_correct per (checkpoint ×) problem (CSV, JSONL, Parquet), no answers;
- ``lm_eval_harness``: lm-evaluation-harness ``--log_samples`` JSONL;
- ``verl``: verl validation dumps ``<step>.jsonl``;
- ``verl_generation``: verl's offline-generation Parquet (``responses`` lists);
- ``qwen_math``: Qwen2.5-Math math_eval.py output JSONL (pred/score lists);
- ``opencompass``: OpenCompass predictions and results (details) JSON documents;
- ``lighteval``: lighteval ``--save-details`` Parquet (answers re-extracted and re-graded);
- ``evalscope``: evalscope review JSONL (its own verdict per generation);
- ``trl_completions``: TRL GRPOTrainer's completions log ``completions/completions_<step>.parquet``;
- ``files``: what every format shares to read files (folders, the reader per extension, JSON lines and
  CSV records decoded line by line, one JSON document's entries with their lines (``json_document``), field
  names for detection, empty files).
"""
