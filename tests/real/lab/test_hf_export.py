"""Training checkpoints (safetensors) and the Hugging Face Llama export, with logits parity in transformers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import tiny_lm_config

from real.lab.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from real.lab.hf_export import export_hf
from real.lab.model import init_params, sequence_logits
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
CFG = tiny_lm_config()


def _params():
    p = init_params(CFG, jax.random.key(0))
    # perturb every leaf (norm weights included) so that a layout mistake cannot hide behind ones
    leaves, tree = jax.tree.flatten(p)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    return jax.tree.unflatten(tree, [x + 0.05 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])


def test_checkpoint_roundtrip_with_optimizer_state(tmp_path):
    params = _params()
    opt = optax.adamw(1e-3)
    state = opt.init(params)
    grads = jax.tree.map(jnp.ones_like, params)
    _, state = opt.update(grads, state, params)
    save_checkpoint(tmp_path / "run" / "step_5", params, CFG, opt_state=state, step=5, meta={"stage": "sft"})
    save_checkpoint(tmp_path / "run" / "step_12", params, CFG, opt_state=state, step=12)
    (tmp_path / "run" / "step_99").mkdir()  # an incomplete folder (no config.json) is ignored
    assert latest_checkpoint(tmp_path / "run").name == "step_12"
    p2, cfg2, s2, step, meta = load_checkpoint(tmp_path / "run" / "step_5", opt_state_like=opt.init(params))
    assert cfg2 == CFG and step == 5 and meta == {"stage": "sft"}
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(p2)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(s2)):
        np.testing.assert_array_equal(a, b)
    assert not list((tmp_path / "run").glob(".step_*"))  # no temporary folders left behind


def test_hf_export_files(tmp_path):
    export_hf(tmp_path / "hf", _params(), CFG, TK, allow_vllm_unsupported=True)  # head size 8: transformers only
    cfg = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["num_key_value_heads"] == 2 and cfg["vocab_size"] == TK.vocab_size
    tok = json.loads((tmp_path / "hf" / "tokenizer.json").read_text())
    assert tok["model"]["vocab"]["0"] == TK.encode("0")[0]
    from safetensors.numpy import load_file

    sd = load_file(str(tmp_path / "hf" / "model.safetensors"))
    assert sd["model.layers.1.self_attn.k_proj.weight"].shape == (2 * CFG.head_dim, CFG.hidden_size)
    assert len(sd) == 2 + 9 * CFG.num_hidden_layers + 1


def test_transformers_logits_parity(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0 takes the local CPU build)")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    params = _params()
    export_hf(tmp_path / "hf", params, CFG, TK, allow_vllm_unsupported=True)  # head size 8: transformers only
    model = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32)
    model.eval()
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "hf" / "tokenizer.json"))
    texts = ["Q:3+4*2=3+4=7;7*2=4;#### 4", "Q:9-9="]
    for text in texts:
        ids = TK.encode(text, bos=True)
        assert hf_tok(text, add_special_tokens=False)["input_ids"] == ids[1:]
        # what transformers and vLLM feed the model for a text prompt: <bos> first, as our sampler does
        assert transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))(text)["input_ids"] == ids
        with torch.no_grad():
            hf = model(torch.tensor([ids])).logits.numpy()
        ours = np.asarray(sequence_logits(params, CFG, jnp.asarray([ids])))
        assert np.abs(hf - ours).max() < 1e-4, np.abs(hf - ours).max()


def test_export_refuses_a_head_size_vllm_rejects_unless_asked(tmp_path):
    from helpers import tiny_lm_config

    from real.lab.hf_export import VLLM_CPU_HEAD_SIZES, check_vllm_head_size

    bad = tiny_lm_config(hidden_size=96, num_attention_heads=4, num_key_value_heads=4)  # the old quick model's 4 heads of 24
    params = init_params(bad, jax.random.key(0))
    with pytest.raises(ValueError, match=r"head size 24 \(hidden_size 96 / num_attention_heads 4\): vLLM's CPU attention rejects "
                                         r"it .*e\.g\. num_attention_heads = 3 \(head size 32\).*allow_vllm_unsupported=True"):
        export_hf(tmp_path / "refused", params, bad, TK)
    assert not (tmp_path / "refused").exists()  # nothing written
    export_hf(tmp_path / "anyway", params, bad, TK, allow_vllm_unsupported=True)
    assert (tmp_path / "anyway" / "model.safetensors").is_file()
    with pytest.raises(ValueError, match=r"head size 8 .*e\.g\. num_attention_heads = 1 \(head size 32\)"):
        check_vllm_head_size(tiny_lm_config(hidden_size=32, num_attention_heads=4))
    with pytest.raises(ValueError, match=r"head size 8 .*e\.g\. hidden_size 160 for 5 head\(s\) of size 32"):
        check_vllm_head_size(tiny_lm_config(hidden_size=40, num_attention_heads=5, num_key_value_heads=5))
    ok = tiny_lm_config(hidden_size=64, num_attention_heads=2, num_key_value_heads=1)
    check_vllm_head_size(ok)
    assert 24 not in VLLM_CPU_HEAD_SIZES and 32 in VLLM_CPU_HEAD_SIZES


def test_quick_run_model_is_one_vllm_runs():
    from real.lab.config import FULL, QUICK
    from real.lab.hf_export import check_vllm_head_size

    for cfg in (QUICK, FULL):
        assert cfg.model.head_dim == 32
        check_vllm_head_size(cfg.model)


def test_head_sizes_include_every_size_vllm_declares():
    """Where vLLM imports: its CPU attention backend's declared head sizes are all in our list (ours adds 48,
    which ran here; the load test in samplers/test_vllm_cpu.py runs a real one)."""
    cpu_attn = pytest.importorskip("vllm.v1.attention.backends.cpu_attn",
                                   reason="vLLM is not installed here (bash scripts/install_vllm_cpu.sh)")
    from real.lab.hf_export import VLLM_CPU_HEAD_SIZES

    declared = cpu_attn.CPUAttentionBackend.get_supported_head_sizes()
    assert set(declared) <= set(VLLM_CPU_HEAD_SIZES), sorted(set(declared) - set(VLLM_CPU_HEAD_SIZES))
    assert set(VLLM_CPU_HEAD_SIZES) - set(declared) == {48}
