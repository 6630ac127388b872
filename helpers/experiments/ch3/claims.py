"""Chapter 3's claims (C3.1-C3.6), their rules, and the values the stored parts give them.

Equivariance is eq. 7 as the paper writes it, Equivariance(f_c, g) = max_{c'} S(f(T_g(X))_c, T_g(f(X))_{c'}) with X
the evaluation set: one channel c' is chosen for the whole set (``matching="shared"``, the chapter's measure and
verdicts since issue 40). The best channel chosen per image (``"sample"``) is kept as a labelled second reading; its
per-image maximum has a chance floor above the invariance (``metrics.similarity``). The tables record their reading:
each claim that reads equivariance carries ``"matching"`` in ``results.json`` (``ReadingTable``).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable
from ...noise import Correlation, Effect
from ...metrics.similarity import PARTS as PART_NAMES
from .paper import FIG2B_RHO
from .results import collect, matched_widths, mean_parts
from .settings import AUGMENTATIONS, EQUIVARIANCE, SETTINGS, Settings

__all__ = ["CLAIMS", "MATCHINGS", "MATCHING", "READS_EQUIVARIANCE", "ReadingTable", "claim_values", "labelled_checks",
           "subchecks", "values", "table"]

MATCHINGS = ("shared", "sample")
MATCHING = "shared"  #: the chapter's reading of eq. 7 (the verdicts); "sample" is the second reading
#: The claims whose value reads equivariance (and so depends on the matching).
READS_EQUIVARIANCE = ("C3.2", "C3.3", "C3.4a", "C3.4b", "C3.5", "C3.6a", "C3.6b")

CLAIMS = {c.id: c for c in [
    Claim("C3.1a", "|change of the mean correlation| when 0.5 is added to both maps", "Fig. 2a", paper=0.0,
          relation="<=", target=1e-6, kind="verification",
          reason="Pearson correlation is shift-invariant by its definition; 1e-6 is round-off"),
    Claim("C3.1b", "ρ(cosine invariance, magnitude) − ρ(correlation invariance, magnitude), ResNet blocks",
          "Fig. 2b", paper=FIG2B_RHO["cosine"] - FIG2B_RHO["correlation"], relation=">=", target=0.3, tolerance=0.2,
          reason="the paper's gap is 0.52 (0.63 vs 0.11) from one network; we ask for more than half of it"),
    Claim("C3.2", "toy CNNs, 5 checks (Gaussian inv = eqv = 1; cut corner eqv = 1, inv < 0.95; "
          "random eqv < 0.95)", "Fig. 3", paper="all hold", relation="holds", kind="verification",
          reason="the filters are built to be (or not to be) equivariant: the measure must say so"),
    Claim("C3.3", "MNIST6 tasks: Early ≥ Middle ≥ Late equivariance and equivariance > invariance in Early and "
          "Middle (effects over seeds), Rot-Inv vs MNIST6 Early equivariance within 0.05", "Fig. 5",
          paper="all hold", relation="holds", reason="each ordering beyond 2 SE over seeds; 0.05 is the paper's "
          "plotting resolution for 'the same'"),
    Claim("C3.4a", "crop and RandAugment raise equivariance above the baseline in Middle, Late, Final (effects over "
          "seeds)", "Fig. 6a", paper="all above", relation="holds", reason="each difference beyond 2 SE over seeds"),
    Claim("C3.4b", "largest |equivariance − invariance| over parts and augmentations (translation)", "Fig. 6a",
          paper="≈ 0", relation="<=", target=0.05, tolerance=0.05,
          reason="the paper's curves overlap; 0.05 is its plotting resolution"),
    Claim("C3.5", "widest vs narrowest WRN: lower equivariance in Middle and Late (effects over seeds), at the end "
          "of training and, where the networks were measured along training, at a matched validation accuracy",
          "Fig. 6b", paper="lower", relation="holds",
          # the rule's text as the committed records hold it: the rule itself is now ``results``' (matched_widths)
          reason="each difference beyond 2 SE over seeds; the matched accuracy by the rule of ch3.track"),
    Claim("C3.6a", "Spearman ρ(Final translation equivariance, ImageNet accuracy), 6 pretrained models", "Fig. 4",
          paper="≈ 1", relation="correlation", target=1,
          reason="positive with its 95 % interval above 0 (6 models: needs ρ ≳ 0.93)"),
    Claim("C3.6b", "(translation: Early, Middle; rotation: Early, Middle, Late): the CNNs' mean "
          "equivariance exceeds ViT and Mixer's", "Fig. 7", paper="all hold", relation="holds",
          reason="one checkpoint per architecture: no seed spread to test against"),
]}


def _runs(runs: list[dict], key: str, p: int) -> np.ndarray:
    """Part ``p`` of ``{key}_parts`` per run (seed): ``(n_seeds,)``."""
    return np.array([r[f"{key}_parts"][p] for r in runs], dtype=float)


def _toy(toy: dict, eq: str, tol: float = 1e-5) -> list[bool]:
    return [toy["invariant"]["invariance"].min() > 1 - tol, toy["invariant"][eq].min() > 1 - tol,
            toy["equivariant"][eq].min() > 1 - tol,
            toy["equivariant"]["invariance_parts"][:3].max() < 1 - 0.05,
            toy["random"][f"{eq}_parts"][:3].max() < 1 - 0.05]


def _mnist6(mn: dict, eq: str) -> list[tuple[str, object]]:
    """Per task: Early ≥ Middle, Middle ≥ Late (paired over the task's seeds), equivariance > invariance in
    Early and Middle (paired); and Rot-Inv's Early equivariance within 0.05 of MNIST6's. ``(label, check)`` pairs."""
    checks: list[tuple[str, object]] = []
    for t, r in mn.items():
        e = lambda p: _runs(r["runs"], eq, p)  # noqa: E731
        checks += [(f"{t}: equivariance Early ≥ Middle", Effect(e(0), e(1))),
                   (f"{t}: equivariance Middle ≥ Late", Effect(e(1), e(2)))]
        checks += [(f"{t}: equivariance > invariance in {PART_NAMES[p]}",
                    Effect(e(p), _runs(r["runs"], "invariance", p))) for p in (0, 1)]
    E = {t: mean_parts(mn[t]["runs"], eq) for t in mn}
    checks.append(("Rot-Inv vs MNIST6: Early equivariance within 0.05",
                   bool(abs(E["MNIST6-Rot-Inv"][0] - E["MNIST6"][0]) <= 0.05)))
    return checks


def _augmentations(aug: dict, eq: str) -> list[tuple[str, object]] | None:
    """C3.4a: crop's and RandAugment's equivariance above the baseline's in Middle, Late, Final (unpaired)."""
    return [(f"{a} > baseline: equivariance in {PART_NAMES[p]}",
             Effect(_runs(aug[a]["runs"], eq, p), _runs(aug["baseline"]["runs"], eq, p), paired=False))
            for a in ("random crop", "RandAugment") if a in aug for p in (1, 2, 4)] or None


def _width_checks(wid: dict, eq: str) -> list[tuple[str, object]]:
    """The narrowest WRN's equivariance above the widest's in Middle and Late (two independent samples), at the end
    of training and, where every network was measured along training, at the matched accuracy (``results.matched_widths``)."""
    ks = sorted(wid)
    out: list[tuple[str, object]] = [(f"k={ks[0]} > k={ks[-1]}: equivariance in {PART_NAMES[p]}",
            Effect(_runs(wid[ks[0]]["runs"], eq, p), _runs(wid[ks[-1]]["runs"], eq, p), paired=False))
           for p in (1, 2)]
    m = matched_widths(wid, eq)
    if m is not None:
        v = m["values"]
        out += [(f"k={ks[0]} > k={ks[-1]} at matched accuracy {m['acc']:.1f} %: equivariance in {PART_NAMES[p]}",
                 Effect(v[ks[0]][:, p], v[ks[-1]][:, p], paired=False)) for p in (1, 2)]
    return out


def _pretrained(pre: dict, eq: str) -> tuple[Correlation, list | None]:
    models = pre["models"].values()
    rho = Correlation([m["translation"][f"{eq}_parts"][-1] for m in models], [m["acc"] for m in models])
    kinds = {k: [m for m in pre["models"].values() if m["kind"] == k] for k in ("cnn", "token")}
    if not all(kinds.values()):
        return rho, None
    mean = lambda k, t: np.mean([m[t][f"{eq}_parts"] for m in kinds[k]], 0)  # noqa: E731  (5,)
    # Sec. 4.6: translation in Early and Middle, rotation in every intermediate part
    more = [mean("cnn", t)[p] > mean("token", t)[p] for t, ps in (("translation", (0, 1)), ("rotation", (0, 1, 2)))
            for p in ps]
    return rho, [bool(m) for m in more]


def claim_values(demo: dict | None, fig2b: dict | None, toy: dict | None, mn: dict | None, aug: dict | None,
                 wid: dict | None, pre: dict | None, matching: str = MATCHING) -> dict:
    """The measured value of every claim of the chapter (C3.1-C3.6) from the experiments' results (``demo``,
    ``toy``, ``pre``: those parts' results; ``fig2b``: ``aug-baseline``'s; ``mn`` / ``aug`` / ``wid``: ``collect``'s):
    ``holds`` claims get their sub-checks (``Effect`` s over seeds, bools), C3.6a a ``Correlation``; an experiment
    passed as ``None`` (not run, e.g. in a partial study) or skipped leaves its claims ``None``. ``matching``: the
    equivariance the claims that read it (``READS_EQUIVARIANCE``) use, ``"shared"`` (eq. 7 over the set X, one
    channel c' for all images; the chapter's) or ``"sample"`` (the best channel per image).
    """
    eq = _eq(matching)
    out = dict.fromkeys(CLAIMS)
    if demo is not None:
        out["C3.1a"] = abs(demo["correlation"]["shifted"] - demo["correlation"]["plain"])
    if fig2b is not None:
        out["C3.1b"] = fig2b["rho_cosine"] - fig2b["rho_correlation"]
    if toy is not None:
        out["C3.2"] = _toy(toy, eq)
    for cid, pairs in labelled_checks(mn, aug, wid, eq).items():
        out[cid] = [c for _, c in pairs] if pairs else None
    if aug is not None:  # C3.4b: the largest |equivariance - invariance| over parts and augmentations
        out["C3.4b"] = max(float(np.abs(mean_parts(r["runs"], eq) - mean_parts(r["runs"], "invariance")).max())
                           for a, r in aug.items() if a in AUGMENTATIONS)
    if pre is not None and "skipped" not in pre:
        out["C3.6a"], out["C3.6b"] = _pretrained(pre, eq)
    return out


def labelled_checks(mn: dict | None, aug: dict | None, wid: dict | None, eq: str) -> dict[str, list | None]:
    """The trained-network claims' sub-checks with what each compares: ``{"C3.3" | "C3.4a" | "C3.5":
    [(label, Effect or bool), ...]}`` in the order the claims judge them (an experiment not run is left out)."""
    out: dict[str, list | None] = {}
    if mn is not None:
        out["C3.3"] = _mnist6(mn, eq)
    if aug is not None:
        out["C3.4a"] = _augmentations(aug, eq)
    if wid is not None and len(wid) > 1:
        out["C3.5"] = _width_checks(wid, eq)
    return out


def subchecks(ev: Mapping, s: Settings | None = None, matching: str = MATCHING) -> dict[str, list | None]:
    """``labelled_checks`` of the chapter's parts (``ev``, its settings ``s``; ``matching``: see ``claim_values``)."""
    eq = _eq(matching)  # a bad matching fails before anything is read
    c = collect(ev, s or SETTINGS[getattr(ev, "profile")])
    return labelled_checks(c["mnist6"], c["augmentations"], c["widths"], eq)


def values(ev: Mapping, s: Settings | None = None, matching: str = MATCHING) -> dict:
    """``{claim id: measured value}`` from the chapter's parts in ``ev`` (the page's ``Evidence``, or any mapping of
    part results), run with settings ``s`` (default: ``SETTINGS[ev.profile]``); ``matching``: see ``claim_values``."""
    c = collect(ev, s or SETTINGS[getattr(ev, "profile")])
    return claim_values(ev["similarity-demo"], ev["aug-baseline"]["fig2b"], ev["toy"], c["mnist6"],
                        c["augmentations"], c["widths"], ev["pretrained"], matching)


def table(ev: Mapping, s: Settings | None = None, matching: str = MATCHING) -> "ReadingTable":
    """The chapter's *paper vs ours* table (eq. 7 with c' shared over X; ``matching="sample"``: the second reading,
    same networks)."""
    return ReadingTable.judge(values(ev, s, matching), matching)


def _eq(matching: str) -> str:
    """The measure key of ``matching`` (``equivariance.EQUIVARIANCE``); a clear error naming a bad one."""
    if matching not in MATCHINGS:
        raise ValueError(f"unknown matching {matching!r}; valid: {list(MATCHINGS)}")
    return EQUIVARIANCE[matching]


class ReadingTable(ClaimTable):
    """A claim table that names its reading of eq. 7: ``to_records`` adds ``"matching"`` (``"shared"`` or
    ``"sample"``) to every claim that reads equivariance (``READS_EQUIVARIANCE``), so ``results.json`` says which
    reading its verdicts are."""

    def __init__(self, results=(), matching: str = MATCHING):
        _eq(matching)
        super().__init__(results)
        self.matching = matching

    @classmethod
    def judge(cls, vals: Mapping, matching: str = MATCHING) -> "ReadingTable":
        """``ClaimTable.of(CLAIMS, vals)`` as a table of reading ``matching``."""
        return cls(ClaimTable.of(CLAIMS, vals).results, matching)

    def to_records(self) -> list[dict]:
        return [r | {"matching": self.matching} if r["id"] in READS_EQUIVARIANCE else r for r in super().to_records()]
