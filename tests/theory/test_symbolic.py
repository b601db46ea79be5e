"""Tests for theory.symbolic: every derivation passes, the CLI works, and the checks can fail.

Each kind of check (symbolic identity, exact range, limit, grid argmax, whole derivation) gets at
least one negative control: a deliberately wrong formula fed to the same machinery must be reported
as a failure.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from helpers import REPO_ROOT as ROOT

from theory import symbolic as S


@pytest.fixture(scope="module")
def quick_results():
    return S.run_all(quick=True)


# ------------------------------------------------------------------ all derivations pass


def test_all_quick_derivations_pass(quick_results):
    assert len(quick_results) == len(S.DERIVATIONS) == 9
    failed = [(r.name, r.detail) for r in quick_results if not r.passed]
    assert not failed, failed


def test_result_shape(quick_results):
    names = [r.name for r in quick_results]
    assert len(set(names)) == len(names)
    assert set(names) == {"passk_advantages", "pass1_eta", "large_n_eta", "majority_step", "mixture_peak",
                          "batch_bonus", "beta_binomial_passk", "softmax_entropy", "product_forms"}
    for r in quick_results:
        assert isinstance(r, S.SymbolicResult)
        assert r.statement and r.detail and r.latex
        assert r"\begin{equation}" in r.latex and r"\end{equation}" in r.latex
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.passed = False  # type: ignore[misc]


def test_public_functions_have_docstrings():
    for name in S.__all__:
        obj = getattr(S, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_cli_exits_zero_and_writes_latex(tmp_path):
    """End-to-end CLI (quick ranges to stay fast; ``python -m theory.symbolic`` runs the full ranges)."""
    out = tmp_path / "sym.tex"
    proc = subprocess.run([sys.executable, "-m", "theory.symbolic", "--quick", "--latex", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "9/9 derivations passed" in proc.stdout
    assert "[FAIL]" not in proc.stdout
    for fn in S.DERIVATIONS:
        name = fn.__name__.removeprefix("derive_")
        assert f"[PASS] {name}" in proc.stdout
    tex = out.read_text(encoding="utf-8")
    for fn in S.DERIVATIONS:
        assert f"% {fn.__name__.removeprefix('derive_')}: PASS" in tex
    assert tex.count(r"\begin{equation}") == 9


def test_main_latex_stdout(monkeypatch, capsys, quick_results):
    monkeypatch.setattr(S, "run_all", lambda quick=False, timings=None: list(quick_results))
    assert S.main(["--latex"]) == 0
    out = capsys.readouterr().out
    for r in quick_results:
        assert f"% {r.name}: PASS" in out
        assert r.latex in out
    assert out.count(r"\paragraph{") == 9


def test_main_nonzero_on_failure(monkeypatch, capsys):
    bad = S.SymbolicResult("bad", "a wrong claim", False, "deliberately failing", "")
    monkeypatch.setattr(S, "DERIVATIONS", [lambda quick=False: bad])
    assert S.main([]) == 1
    assert "[FAIL] bad" in capsys.readouterr().out


def test_run_all_turns_exceptions_into_failures(monkeypatch):
    def derive_broken(quick=False):
        """Broken on purpose."""
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(S, "DERIVATIONS", [derive_broken])
    (res,) = S.run_all()
    assert res.name == "broken" and not res.passed and "boom" in res.detail


# ------------------------------------------------------------------ negative controls: identities

N, NN, K = sp.symbols("N N_neg k", positive=True, integer=True)


def test_identity_control_binomial_ratio():
    ratio = S.passk_neg_ratio(N, NN, K)
    assert S.check_identity(ratio, N * sp.binomial(NN, K) / (NN * sp.binomial(N, K)), method="combsimp")
    # the variant with k in place of N is wrong
    assert not S.check_identity(ratio, K * sp.binomial(NN, K) / (NN * sp.binomial(N, K)), method="combsimp")


def test_identity_control_sum_to_zero():
    pos, neg = S.passk_adv_numerators(N, NN, K)
    assert S.check_identity((N - NN) * pos + NN * neg, 0, method="combsimp")
    assert not S.check_identity((N - NN) * pos + NN * (neg - pos), 0, method="combsimp")
    assert not S.check_identity(N * pos + NN * neg, 0, method="combsimp")


def test_identity_control_majority_step():
    p = sp.symbols("p", positive=True)
    for K_ in (1, 5, 9):
        diff = S.majority_prob(K_ + 2, p) - S.majority_prob(K_, p)
        assert S.check_identity(diff, S.majority_step(K_, p), method="expand")
        wrong = sp.binomial(K_, (K_ - 1) // 2) * (p * (1 - p)) ** ((K_ + 3) // 2) * (2 * p - 1)
        assert not S.check_identity(diff, wrong, method="expand")
        assert not S.check_identity(diff, S.majority_step(K_, p) / (2 * p - 1), method="expand")


def test_identity_control_mixture_factorisation():
    p1, p2 = sp.symbols("p1 p2", positive=True)
    lhs = p1 * (1 - p1) - p2 * (1 - p2)
    assert S.check_identity(lhs, (p1 - p2) * (1 - p1 - p2), method="expand")
    assert not S.check_identity(lhs, (p1 - p2) * (p1 + p2 - 1), method="expand")


def test_identity_control_entropy_gradient():
    z = sp.symbols("z1:4", real=True)
    Z = sum(sp.exp(v) for v in z)
    pi = [sp.exp(v) / Z for v in z]
    H = -sum(x * sp.log(x) for x in pi)
    assert S.check_identity(sp.diff(H, z[0]), -pi[0] * (sp.log(pi[0]) + H))
    assert not S.check_identity(sp.diff(H, z[0]), pi[0] * (sp.log(pi[0]) + H))
    assert not S.check_identity(sp.diff(H, z[0]), -pi[0] * (sp.log(pi[0]) - H))


def test_identity_control_beta_passk():
    a, b, k = sp.symbols("a b k", positive=True)
    tail = sp.beta(a, b + k) / sp.beta(a, b)
    good = sp.gamma(a + b) / sp.gamma(b) * sp.gamma(b + k) / sp.gamma(a + b + k)
    assert S.check_identity(sp.expand_func(tail), good, method="gammasimp")
    wrong = sp.gamma(a + b) / sp.gamma(a) * sp.gamma(a + k) / sp.gamma(a + b + k)
    assert not S.check_identity(sp.expand_func(tail), wrong, method="gammasimp")


def test_identity_unknown_method():
    with pytest.raises(ValueError, match="method"):
        S.check_identity(1, 1, method="nope")


# ------------------------------------------------------------------ negative controls: exact ranges


def _adv_cases(n_max=7):
    return [(n, k, nn, i) for n in range(1, n_max + 1) for k in range(1, n + 1) for nn in range(1, n + 1)
            for i in range(nn)]


def test_exact_control_negative_advantage():
    """Brute-force group averages match eq. 15, and fail against eq. 15 without its r term."""
    stats = lambda n, k, nn, i: S.brute_force_passk_group_stats(n, nn, k)["avg_centered"][i]  # noqa: E731
    good = lambda n, k, nn, i: S.passk_adv_numerators(sp.Integer(n), sp.Integer(nn), sp.Integer(k))[1]  # noqa: E731
    assert S.check_exact_cases(_adv_cases(), stats, good)
    wrong = lambda n, k, nn, i: S.passk_adv_numerators(sp.Integer(n), sp.Integer(nn), sp.Integer(k))[0]  # noqa: E731
    res = S.check_exact_cases(_adv_cases(), stats, wrong)
    assert not res and "mismatch" in res.info
    # an off-by-one in the binomial (C(N_neg, k-1) instead of C(N_neg-1, k-1)) is caught too
    off = lambda n, k, nn, i: (sp.binomial(nn, k) / sp.binomial(n, k)  # noqa: E731
                               - sp.binomial(nn, k - 1) / sp.binomial(n - 1, k - 1))
    assert not S.check_exact_cases(_adv_cases(), stats, off)


def test_exact_control_mean_reward():
    cases = [(n, k, nn) for n in range(1, 9) for k in range(1, n + 1) for nn in range(n + 1)]
    brute = lambda n, k, nn: S.brute_force_passk_group_stats(n, nn, k)["mean"]  # noqa: E731
    assert S.check_exact_cases(cases, brute, lambda n, k, nn: S.passk_mean_reward(n, nn, k))
    # "1 - (N_neg/N)^k" (sampling with replacement) is the wrong mean
    assert not S.check_exact_cases(cases, brute, lambda n, k, nn: 1 - Fraction(nn, n) ** k)


def test_exact_rejects_inexact_values():
    with pytest.raises(TypeError):
        S.check_exact_cases([(1,)], lambda x: 0.5, lambda x: Fraction(1, 2))
    with pytest.raises(TypeError):
        S.check_exact_cases([(1,)], lambda x: sp.sqrt(2), lambda x: sp.sqrt(2))
    assert not S.check_exact_cases([], lambda: 0, lambda: 0)


def test_exact_control_brute_force_known_values():
    st = S.brute_force_passk_group_stats(4, 2, 2)   # 6 groups, 1 all-negative
    assert st["mean"] == Fraction(5, 6) and st["var"] == Fraction(5, 36)
    # a negative sits in 3 groups (rewards 0, 1, 1): 2/3 - 5/6; a positive only in reward-1 groups: 1 - 5/6
    assert st["avg_centered"] == [Fraction(-1, 6)] * 2 + [Fraction(1, 6)] * 2


# ------------------------------------------------------------------ negative controls: limits, grid


def test_limit_control():
    Nn, q = sp.symbols("N q", positive=True)
    s = sp.expand_func(sp.binomial(q * Nn, 3) / sp.binomial(Nn, 3))
    assert S.check_limit(s, Nn, q ** 3)
    assert not S.check_limit(s, Nn, q ** 2)
    a, b, k = sp.symbols("a b k", positive=True)
    assert not S.check_limit(k ** (a - 1) * sp.gamma(b + k) / sp.gamma(a + b + k), k, 1)


def test_grid_control():
    f = lambda r: 2 * r * np.sqrt((1 - r) ** 4 / (1 - (1 - r) ** 4))  # noqa: E731
    q = float(next(r for r in sp.real_roots(sp.Poly(2 * sum(sp.Symbol("q") ** j for j in range(1, 5)) - 4))
                   if 0 < r < 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        assert S.check_argmax_on_grid(f, 1 - q, 1e-9, 1 - 1e-9)
        assert not S.check_argmax_on_grid(f, 0.5, 1e-9, 1 - 1e-9)       # the k = 1 root is wrong for k = 4
        assert not S.check_argmax_on_grid(f, 0.25, 1e-9, 1 - 1e-9)      # N = 32 finite-N value, not the limit


# ------------------------------------------------------------------ spot facts and a failing derivation


def test_mixture_m_star_value():
    ms = S.mixture_m_star(sp.Rational(17, 20), sp.Rational(2, 5), sp.Rational(4, 5))
    assert abs(float(ms) - 4.1723) < 1e-4


def test_majority_prob_validates_k():
    with pytest.raises(ValueError, match="K"):
        S.majority_prob(4, sp.Rational(1, 2))


def test_derivation_fails_when_formula_is_wrong(monkeypatch):
    """Swap eq. 15's negative numerator for a wrong one: the whole derivation reports FAIL."""
    real = S.passk_adv_numerators

    def wrong(N_, nn, k):
        pos, neg = real(N_, nn, k)
        return pos, neg - S.passk_neg_ratio(N_, nn, k) / 2

    monkeypatch.setattr(S, "passk_adv_numerators", wrong)
    res = S.derive_passk_advantages(n_max=5)
    assert not res.passed
    assert "FAILED" in res.detail and "negative adv" in res.detail
