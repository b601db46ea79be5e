"""real.lab: the language-model lab (a small JAX Llama trained by SFT then RLVR, sampled, exported).

``config`` (the run's one nested, validated setting), ``model``, ``tokenizer``, ``task``,
``checkpoints`` (training checkpoints), ``hf_export`` (Hugging Face folder), ``sft``, ``rl`` (the RL
trainer over the shared advantage registry), ``evaluate`` (checkpoints -> sample records),
``samplers`` (one interface; JAX, transformers, vLLM), ``run`` (base -> RL -> evaluation, resumable).
The lab writes sample records and grades them with ``real.logs.answers``; it may import ``real.logs``,
never the reverse.
"""
