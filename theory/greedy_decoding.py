"""Greedy decoding vs the answer distribution of sampling, exactly, on a toy token tree.

Users often report the self-consistency (SC) gain as maj@K at a sampling temperature T minus GREEDY
accuracy (T = 0) instead of minus pass@1 at the same T. The two definitions differ by an identity:

    (maj@K(T) − greedy) − (maj@K(T) − pass@1(T)) = pass@1(T) − greedy            (the "H0 share")

so a negative "mixed" SC gain can come entirely from sampled accuracy being below greedy accuracy, with
majority voting helping at that temperature (:func:`sc_gain_decomposition`).

Greedy decoding is a token-level argmax path: at every step it takes the most probable next token. The
answer it ends in need not be the plurality answer (the mode of the answer distribution of sampling):
many moderately probable paths that all reach the correct answer can outweigh one path that is the
argmax at the first step and reaches a wrong answer (:func:`many_paths_tree`). Lowering T concentrates
the sampling distribution on the greedy path (T → 0 is greedy, without ties), so pass@1(T) moves from the
T = 1 answer distribution toward greedy accuracy; in the many-paths tree the plurality flips from the
correct to the wrong answer at :func:`crossover_temperature`.

The tree: nodes 0 … N−1 with ``parent`` (−1 = a child of the root; a parent precedes its children,
siblings are contiguous), a ``logit`` per node (unitless, natural-log scale), and an ``answer`` per leaf
(the final answer the path spells out; None on internal nodes). Sampling at temperature T > 0 picks a child
with probability softmax(logit / T) among its siblings; T = 0 is greedy decoding, the first sibling with
the largest logit (``jnp.argmax``'s tie rule, as ``real.lab.samplers.jax`` decodes). Everything here is
exact enumeration of root-to-leaf paths (their probabilities multiply down the tree); :func:`sample_answers`
is the Monte Carlo counterpart the tests compare with.

Public: :class:`TokenTree`, :func:`conditional_probs`, :func:`path_probs`, :func:`answer_distribution`,
:func:`greedy_path`, :func:`plurality_answers`, :func:`sample_answers`, :func:`maj_at_k_exact`,
:func:`protocol_values`, :func:`sc_gain_decomposition`, :func:`many_paths_tree`,
:func:`greedy_differs_from_plurality`, :func:`crossover_temperature`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.checks import check_int, check_number

__all__ = ["TokenTree", "conditional_probs", "path_probs", "answer_distribution", "greedy_path", "plurality_answers", "sample_answers",
           "maj_at_k_exact", "protocol_values", "sc_gain_decomposition", "many_paths_tree", "greedy_differs_from_plurality",
           "crossover_temperature"]


@dataclass(frozen=True)
class TokenTree:
    """A finite tree of token choices (module docstring): ``parent`` int [N] (−1 for the root's children),
    ``logit`` float [N], ``answer`` tuple [N] (a str on leaves, None on internal nodes), ``token`` tuple [N]
    (labels, for display). ValueError naming the node for a parent after its child, non-contiguous siblings,
    a leaf without an answer or an internal node with one, a non-finite logit."""

    parent: np.ndarray
    logit: np.ndarray
    answer: tuple
    token: tuple = ()

    def __post_init__(self):
        parent = np.asarray(self.parent, np.int64)
        logit = np.asarray(self.logit, np.float64)
        N = parent.size
        if N == 0 or parent.shape != (N,) or logit.shape != (N,) or len(self.answer) != N:
            raise ValueError(f"tree: parent, logit and answer must be non-empty and of one length, got {parent.shape}, "
                             f"{logit.shape}, {len(self.answer)}")
        if not np.isfinite(logit).all():
            raise ValueError(f"logit: node {int(np.flatnonzero(~np.isfinite(logit))[0])} is not finite")
        bad = np.flatnonzero((parent < -1) | (parent >= np.arange(N)))
        if bad.size:
            raise ValueError(f"parent: node {int(bad[0])} has parent {int(parent[bad[0]])}; a parent must precede its children")
        starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
        if len(set(parent[starts].tolist())) != starts.size:
            raise ValueError("parent: the children of a node must be contiguous")
        is_internal = np.zeros(N, bool)
        is_internal[parent[parent >= 0]] = True
        for i in range(N):
            if is_internal[i] and self.answer[i] is not None:
                raise ValueError(f"answer: node {i} has children, so it cannot carry an answer ({self.answer[i]!r})")
            if not is_internal[i] and not isinstance(self.answer[i], str):
                raise ValueError(f"answer: leaf {i} needs an answer string, got {self.answer[i]!r}")
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "logit", logit)
        object.__setattr__(self, "answer", tuple(self.answer))
        object.__setattr__(self, "token", tuple(self.token) if self.token else tuple(str(i) for i in range(N)))

    @classmethod
    def from_nested(cls, spec: dict) -> TokenTree:
        """From ``{token: (logit, child)}`` with ``child`` either such a dict (more tokens) or an answer
        string (a leaf), e.g. ``{"a": (1.0, "7"), "b": (0.5, {"c": (0.0, "3"), "d": (0.0, "7")})}``.
        Nodes are numbered breadth first, so parents precede children and siblings are contiguous."""
        parent, logit, answer, token = [], [], [], []
        queue = [(-1, spec)]
        while queue:
            par, d = queue.pop(0)
            if not isinstance(d, dict) or not d:
                raise ValueError(f"spec: the children of node {par} must be a non-empty dict token -> (logit, child)")
            for tok, val in d.items():
                if not isinstance(val, tuple) or len(val) != 2:
                    raise ValueError(f"spec: token {tok!r} must map to (logit, child), got {val!r}")
                lg, child = val
                i = len(parent)
                parent.append(par)
                logit.append(float(lg))
                token.append(str(tok))
                if isinstance(child, dict):
                    answer.append(None)
                    queue.append((i, child))
                else:
                    answer.append(child)
        return cls(np.array(parent), np.array(logit), tuple(answer), tuple(token))

    @property
    def leaves(self) -> np.ndarray:
        """Indices of the leaves."""
        internal = np.zeros(self.parent.size, bool)
        internal[self.parent[self.parent >= 0]] = True
        return np.flatnonzero(~internal)

    def _groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Sibling-group index per node (0 … G−1 in node order) and the first node of each group."""
        starts = np.flatnonzero(np.r_[True, self.parent[1:] != self.parent[:-1]])
        g = np.cumsum(np.r_[True, self.parent[1:] != self.parent[:-1]]) - 1
        return g, starts


def _check_T(T) -> float:
    check_number("T", T, low=0)
    return float(T)


def conditional_probs(tree: TokenTree, T: float) -> np.ndarray:
    """P(node | its parent) [N] when decoding at temperature T: softmax(logit / T) over the siblings for T > 0
    (computed stably, max subtracted per group); for T = 0 greedy decoding, 1 on the first sibling with the
    largest logit and 0 elsewhere."""
    T = _check_T(T)
    g, starts = tree._groups()
    G = starts.size
    mx = np.full(G, -np.inf)
    np.maximum.at(mx, g, tree.logit)
    if T == 0:
        is_max = tree.logit == mx[g]
        first = np.full(G, tree.parent.size)
        np.minimum.at(first, g[is_max], np.flatnonzero(is_max))
        out = np.zeros(tree.parent.size)
        out[first] = 1.0
        return out
    e = np.exp((tree.logit - mx[g]) / T)
    return e / np.bincount(g, weights=e, minlength=G)[g]


def path_probs(tree: TokenTree, T: float) -> np.ndarray:
    """P(the decoded path passes through node i) [N] at temperature T: the product of :func:`conditional_probs`
    from the root down (parents precede children, so one pass in node order)."""
    q = conditional_probs(tree, T)
    out = q.copy()
    for i in np.flatnonzero(tree.parent >= 0).tolist():
        out[i] *= out[tree.parent[i]]
    return out


def answer_distribution(tree: TokenTree, T: float) -> dict:
    """The answer distribution of decoding at temperature T: {answer: probability}, the sum of the leaf
    probabilities (:func:`path_probs`) of every path that ends in that answer (exact enumeration). Answers in
    order of their first leaf; probabilities sum to 1."""
    p = path_probs(tree, T)
    out: dict = {}
    for i in tree.leaves.tolist():
        out[tree.answer[i]] = out.get(tree.answer[i], 0.0) + float(p[i])
    return out


def greedy_path(tree: TokenTree) -> tuple[list[int], str]:
    """The greedy decode: the node indices from the root's child down to a leaf, taking at each step the first
    child with the largest logit, and the answer that leaf spells out."""
    q0 = conditional_probs(tree, 0.0)
    path, node = [], -1
    while True:
        kids = np.flatnonzero((tree.parent == node) & (q0 == 1.0))
        if kids.size == 0:
            return path, tree.answer[node]
        node = int(kids[0])
        path.append(node)


def plurality_answers(tree: TokenTree, T: float, *, tol: float = 1e-12) -> list[str]:
    """The mode(s) of :func:`answer_distribution` at T (every answer within ``tol`` of the largest probability):
    the answer a majority vote over many samples converges to (ties: several)."""
    d = answer_distribution(tree, T)
    top = max(d.values())
    return [a for a, p in d.items() if p >= top - tol]


def sample_answers(tree: TokenTree, T: float, n: int, seed: int = 0) -> np.ndarray:
    """Monte Carlo: ``n`` independent decodes at temperature T, their answers (object array [n]). All walkers
    step together, one tree level per step; a walker at a node picks a child by inverse CDF on
    :func:`conditional_probs` (``numpy.random.default_rng(seed)``)."""
    check_int("n", n)
    q = conditional_probs(tree, T)
    g, starts = tree._groups()
    G = starts.size
    cum = np.zeros_like(q)
    for s0, s1 in zip(starts.tolist(), np.r_[starts[1:], q.size].tolist()):
        cum[s0:s1] = np.cumsum(q[s0:s1])
    key = g + cum  # in (r, r + 1] for group r, increasing: one searchsorted serves every group
    ends = np.r_[starts[1:], q.size] - 1
    group_of_parent = np.full(tree.parent.size + 1, -1)  # index parent + 1 -> its children's group
    group_of_parent[tree.parent[starts] + 1] = np.arange(G)
    rng = np.random.default_rng(seed)
    node = np.full(n, -1)
    live = np.ones(n, bool)
    while live.any():
        r = group_of_parent[node[live] + 1]
        pick = np.searchsorted(key, r + rng.uniform(size=r.size), side="right")
        node[live] = np.minimum(np.maximum(pick, starts[r]), ends[r])  # rounding of the last cumulative value
        live = group_of_parent[node + 1] >= 0
    return np.array([tree.answer[i] for i in node.tolist()], dtype=object)


def maj_at_k_exact(tree: TokenTree, T: float, k: int, correct: str, *, tie: str = "random") -> float:
    """maj@k at temperature T: the probability that the plurality vote of k independent decodes is ``correct``
    (ties at the top split uniformly), from the exact answer distribution through
    ``theory.voting.plurality_accuracy`` (multinomial law; Wang et al. 2023's self-consistency)."""
    from theory.voting import plurality_accuracy

    check_int("k", k)
    d = answer_distribution(tree, T)
    probs = np.array([d.get(correct, 0.0)] + [p for a, p in d.items() if a != correct])
    return float(plurality_accuracy(probs, k, tie=tie))


def protocol_values(tree: TokenTree, T: float, k: int, correct: str) -> dict:
    """The evaluation protocol on one problem, exactly: greedy (1 if the greedy answer is ``correct``, else 0),
    pass@1(T) = P_T(correct), maj@k(T) (:func:`maj_at_k_exact`), and :func:`sc_gain_decomposition` of them."""
    greedy = float(greedy_path(tree)[1] == correct)
    p1 = answer_distribution(tree, T).get(correct, 0.0)
    maj = maj_at_k_exact(tree, T, k, correct)
    return {"greedy": greedy, "pass_at_1": p1, "maj_at_k": maj, **sc_gain_decomposition(maj, p1, greedy)}


def sc_gain_decomposition(maj, pass1, greedy) -> dict:
    """Both SC-gain definitions and their difference, elementwise (probabilities, unitless):
    same-T ``sc_gain_same`` = maj@K(T) − pass@1(T); mixed ``sc_gain_mixed`` = maj@K(T) − greedy; and
    ``h0_share`` = pass@1(T) − greedy, which equals mixed − same identically (the algebraic identity of the
    module docstring): the part of a "negative SC gain" that is the sampled-vs-greedy accuracy gap."""
    maj, pass1, greedy = (np.asarray(x, np.float64) for x in (maj, pass1, greedy))
    out = {"sc_gain_same": maj - pass1, "sc_gain_mixed": maj - greedy, "h0_share": pass1 - greedy}
    return {k: float(v) if v.ndim == 0 else v for k, v in out.items()}


def many_paths_tree(m: int = 3, p_wrong: float = 0.4, *, correct: str = "C", wrong: str = "W") -> TokenTree:
    """Greedy ≠ plurality by many paths: the first token is either one "wrong" token (probability ``p_wrong`` at
    T = 1), after which the answer is ``wrong``, or one of ``m`` tokens of probability (1 − p_wrong)/m each,
    each followed by a one-token path to ``correct`` (distinct reasoning paths, one answer). Greedy takes the
    wrong token when p_wrong > (1 − p_wrong)/m, while the plurality at T = 1 is correct when p_wrong < ½
    (:func:`greedy_differs_from_plurality`)."""
    check_int("m", m)
    check_number("p_wrong", p_wrong, low=0, low_open=True, high=1)
    if p_wrong == 1:
        raise ValueError("p_wrong: must be < 1 (the correct paths need some probability)")
    lw, lc = np.log(p_wrong), np.log((1 - p_wrong) / m)
    spec = {"w": (lw, {"w_end": (0.0, wrong)})}
    for j in range(m):
        spec[f"c{j}"] = (lc, {f"c{j}_end": (0.0, correct)})
    return TokenTree.from_nested(spec)


def greedy_differs_from_plurality(m: int, p_wrong: float) -> bool:
    """The condition of :func:`many_paths_tree` under which greedy decoding ends wrong while the T = 1 plurality
    answer is correct: (1 − p_wrong)/m < p_wrong < ½ (greedy's first step prefers the single wrong token over
    each correct one, but the correct paths together outweigh it); possible only for m ≥ 2."""
    return bool((1 - p_wrong) / m < p_wrong < 0.5)


def crossover_temperature(l_wrong: float, l_correct: float, m: int) -> float:
    """In the many-paths tree (one wrong first token of logit ``l_wrong``, m correct ones of logit ``l_correct``,
    each followed by a single token), P_T(correct) = m e^{l_c/T} / (m e^{l_c/T} + e^{l_w/T}) is ½ at
    T* = (l_w − l_c) / ln m: above T* the plurality answer is correct, below it wrong (and greedy, T → 0, is
    wrong whenever l_w > l_c). Requires l_w > l_c and m ≥ 2 (else no crossover: ValueError)."""
    check_int("m", m)
    if m < 2 or not l_wrong > l_correct:
        raise ValueError(f"crossover_temperature: needs m >= 2 and l_wrong > l_correct, got m={m}, {l_wrong} <= {l_correct}"
                         if m >= 2 else f"crossover_temperature: needs m >= 2, got {m}")
    return float((l_wrong - l_correct) / np.log(m))
