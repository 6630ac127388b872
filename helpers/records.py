"""Run records: what each page writes to ``<output_dir>/results.json`` (``Evidence.record``), and reading them.

Fields (the contract in docs/architecture.md, *Claims and page records*): ``chapter``, ``profile``, ``device``,
``wall_time_s``, ``versions``, the measured ``numbers``, and ``claims`` (id, paper, ours, verdict, ...).

Reading them: ``recorded`` (the committed records of a chapter, by profile), ``recorded_runs`` and
``recorded_claims`` (what a page's "recorded runs" section shows), and ``frozen`` / ``frozen_table``: the earlier
whole-run records (``h100_results.json``, ...) as the chapter's frozen table holds them, judged once by today's
rules (``helpers.history`` writes it). Nothing here judges a claim.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from .claims import Claim, ClaimResult, ClaimTable, Undecided
from .noise import Correlation, Effect, Seeds
from .profiles import PROFILES, Profile, resolve

__all__ = ["output_dir_for", "results_root", "recorded", "recorded_runs",
           "recorded_claims", "value_from_record", "FROZEN_DIR", "frozen", "frozen_table"]

def output_dir_for(chapter: str, profile: str | Profile, output_dir: str | os.PathLike | None = None) -> Path:
    """``output_dir`` if given, else ``$HELPERS_RUNS/<profile>/<chapter>`` (default ``./runs``)."""
    if output_dir:
        return Path(output_dir)
    base = Path(os.environ.get("HELPERS_RUNS", "runs"))
    return base / resolve(profile).name / chapter


def _jsonable(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):  # settings nest their training configs
        return _jsonable(dataclasses.asdict(v))
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "tolist"):  # tensors, numpy arrays and scalars
        return _jsonable(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def results_root(root: str | os.PathLike | None) -> Path:
    """``<root>/results``; default root: the checkout that holds this package."""
    return (Path(root) if root is not None else Path(__file__).resolve().parent.parent) / "results"


def recorded(chapter: str, root: str | os.PathLike | None = None, name: str = "results.json") -> dict[str, dict]:
    """The committed records ``results/<profile>/<chapter>/<name>`` of ``chapter``, by profile.

    Args:
        chapter: the chapter's notebook stem, e.g. ``"01_genuine_invariance"``.
        root: the repository root; default: the checkout that holds this package (none when
            ``helpers`` was pip-installed without the repository, e.g. on Colab).
        name: the file in each profile's folder (e.g. an extra study's JSON).
    Returns:
        ``{profile: record}`` in the order of ``PROFILES``; empty when nothing is recorded.
    Raises:
        ValueError: a record whose own profile is not the one its folder names (a quick run is never shown as
            standard evidence).
    """
    order = {p: i for i, p in enumerate(PROFILES)}
    paths = sorted(results_root(root).glob(f"*/{chapter}/{name}"),
                   key=lambda p: order.get(p.parent.parent.name, len(order)))
    out = {}
    for p in paths:
        rec = json.loads(p.read_text())
        if rec.get("profile", p.parent.parent.name) != p.parent.parent.name:
            raise ValueError(f"{p} records profile {rec.get('profile')!r} but sits in the folder of "
                             f"{p.parent.parent.name!r}; move it to results/{rec.get('profile')}/{chapter}/")
        out[p.parent.parent.name] = rec
    return out


def value_from_record(entry: Mapping) -> Any:
    """The measured value a record's claim entry holds, as ``Claim.judge`` takes it (the inverse of
    ``ClaimResult.to_dict``; older records keep only ``ours``)."""
    v: Any
    if "a" in entry:
        v = Effect(entry["a"], entry["b"], entry.get("paired", True))
    elif "x" in entry:
        v = Correlation(entry["x"], entry["y"], entry.get("sign", 0))
    elif "seeds" in entry:
        v = Seeds(entry["seeds"])
    elif "checks" in entry:
        v = list(entry["checks"])
    else:
        v = entry.get("ours")
        v = float(v) if v in ("nan", "inf", "-inf") else v      # as _plain wrote them
    return Undecided(entry["undecided"], v) if "undecided" in entry else v


#: The folder of ``results/`` that holds the frozen tables, ``<chapter>.json`` each (``helpers.history``).
FROZEN_DIR = "history"


def frozen(chapter: str, root: str | os.PathLike | None = None) -> list[dict]:
    """The chapter's earlier whole-run records as its frozen table holds them, judged once by today's rules
    (``results/history/<chapter>.json``, written by ``python -m helpers freeze-records``; ``helpers.history``):
    per record its file (``record``), ``profile``, ``label``, ``device``, ``date``, ``wall_time_s``, ``claims``
    (``ClaimResult.to_dict`` with ``recorded_verdict``) and, for chapter 3, ``claims_per_image``. Empty when the
    chapter has none (or ``helpers`` runs without its checkout)."""
    path = results_root(root) / FROZEN_DIR / f"{chapter}.json"
    return json.loads(path.read_text())["records"] if path.exists() else []


@dataclasses.dataclass(frozen=True)
class _FrozenClaim(Claim):
    """A claim as a frozen table wrote it: its rule is the text it had when it was judged."""

    frozen_rule: str = ""

    def rule(self) -> str:
        return self.frozen_rule


def frozen_table(claims: list[dict]) -> ClaimTable:
    """A frozen table's claim entries (``frozen(...)[i]["claims"]``) as a ``ClaimTable`` to display: the verdicts,
    their *why* and the numbers as they were frozen; nothing is judged."""
    fields = ("id", "statement", "source", "paper", "relation", "target", "tolerance", "kind")
    return ClaimTable([ClaimResult(_FrozenClaim(**{f: c[f] for f in fields}, frozen_rule=c["rule"]),
                                   value_from_record(c), c["verdict"], c.get("why", "")) for c in claims])


def _counts(claims: list[dict]) -> dict[str, int]:
    """How many of the reproductions among ``claims`` got each verdict (``VERDICTS`` order, zeros included)."""
    from .claims import VERDICTS

    verdicts = [c["verdict"] for c in claims if c.get("kind", "reproduction") == "reproduction"]
    return {v: verdicts.count(v) for v in VERDICTS}


def recorded_runs(chapter: str, root: str | os.PathLike | None = None, names: tuple[str, ...] = ("results.json",)):
    """The runs of ``chapter`` committed under ``results/<profile>/<chapter>/<name>`` for each of ``names``.

    Args:
        names: the record files to list: ``results.json`` is a page's record (its verdicts are today's rules';
            ``tests/test_rejudged_records.py`` checks them against the committed parts); an older whole-run record
            beside it (e.g. ``h100_results.json``) is listed with the verdicts its frozen table holds (``frozen``).
    Returns:
        A pandas DataFrame, one row per recorded run: profile, record, device, date, wall time, and the count of
        each verdict among the reproductions. Empty when nothing is recorded.
    """
    import pandas as pd

    from .claims import VERDICTS

    rows, earlier = [], frozen(chapter, root)
    for name in names:
        runs = (recorded(chapter, root, name).values() if name == "results.json" else
                [e for e in earlier if e["record"] == name])
        for rec in runs:
            rows.append({"profile": rec["profile"], "record": name, "device": rec["device"],
                         "date": rec.get("date", "")[:10], "wall time (s)": rec["wall_time_s"],
                         **_counts(rec.get("claims", []))})
    return pd.DataFrame(rows, columns=["profile", "record", "device", "date", "wall time (s)", *VERDICTS])


def recorded_claims(chapter: str, root: str | os.PathLike | None = None):
    """Claim by claim, what each committed page record of ``chapter`` measured and its verdict.

    The book built in one profile (e.g. ``quick`` on CI) shows the verdicts of the others from their
    records, so a reader sees the evidence of the longer runs without re-running them.

    Returns:
        A pandas DataFrame indexed by claim id: the claim's kind, source and paper value, then for each
        recorded profile ``<profile>: ours`` (numbers as text with 3 significant digits) and
        ``<profile>: verdict``, as the record holds them. Empty when nothing is recorded.
    """
    import pandas as pd

    rows: dict[str, dict] = {}
    for prof, rec in recorded(chapter, root).items():
        for c in rec.get("claims", []):
            row = rows.setdefault(c["id"], {"kind": c.get("kind", "reproduction"), "source": c.get("source", ""),
                                            "paper": c.get("paper")})
            ours = c.get("ours")
            row[f"{prof}: ours"] = f"{ours:.3g}" if isinstance(ours, float) else ours  # text: 1e-15 stays 1e-15
            row[f"{prof}: verdict"] = c.get("verdict")
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "claim"
    return frame
