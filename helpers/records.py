"""Run records: what each chapter run writes to ``<output_dir>/results.json``.

Fields (the contract in docs/architecture.md, *Claims and page records*): ``chapter``, ``profile``, ``device``,
``wall_time_s``, ``versions``, ``seed``, the measured ``numbers``, and ``claims`` (id, paper, ours, verdict, ...).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import torch

from .claims import Claim, ClaimResult, ClaimTable, Undecided, _nonfinite
from .noise import Correlation, Effect, Seeds
from .profiles import PROFILES, Profile, resolve

__all__ = ["RunRecord", "device_name", "versions", "output_dir_for", "load_results", "recorded",
           "recorded_runs", "recorded_claims", "value_from_record", "rejudge", "rejudged", "record_values",
           "todays_claims"]

_PACKAGES = ("torch", "torchvision", "numpy", "captum", "scipy", "scikit-learn", "learned-symmetry")


def device_name(device: torch.device | str) -> str:
    """A human-readable device description, e.g. ``"NVIDIA H100 80GB HBM3"`` or ``"CPU (2 cores)"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


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


class RunRecord:
    """Collects a chapter run's numbers and writes ``results.json``; the clock starts at creation.

    Example::

        rec = RunRecord("ch1", profile, seed=0, output_dir=output_dir)
        rec.add(table1=..., drift=...)
        rec.write(claims)        # -> Path to results.json
    """

    def __init__(self, chapter: str, profile: str | Profile, seed: int, output_dir=None):
        self.chapter = chapter
        self.profile = resolve(profile)
        self.seed = seed
        self.output_dir = output_dir_for(chapter, self.profile, output_dir)
        self.numbers: dict[str, Any] = {}
        self._t0 = time.perf_counter()

    def add(self, **numbers: Any) -> None:
        """Record measured numbers (tensors, arrays, dicts and lists are converted for JSON)."""
        self.numbers.update(numbers)

    @property
    def wall_time_s(self) -> float:
        return time.perf_counter() - self._t0

    def to_dict(self, claims: ClaimTable | None = None) -> dict:
        return {
            "chapter": self.chapter,
            "profile": self.profile.name,
            "device": device_name(self.profile.device),
            "wall_time_s": round(self.wall_time_s, 2),
            "versions": versions(),
            "seed": self.seed,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "numbers": _jsonable(self.numbers),
            "claims": claims.to_records() if claims is not None else [],
        }

    def write(self, claims: ClaimTable | None = None, name: str = "results.json", what: str | None = None) -> Path:
        """Write the record as ``name`` (a chapter run: ``results.json``; a study beside it, e.g.
        ``cpu_parts.json``, with ``what`` saying what it is) into the output folder and return its path."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / name
        d = self.to_dict(claims) | ({"what": what} if what is not None else {})
        path.write_text(json.dumps(_jsonable(d), indent=2) + "\n")
        return path


def load_results(path: str | os.PathLike) -> dict:
    """Read a ``results.json`` (a file, or a folder that holds one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    return json.loads(path.read_text())


def _results_root(root: str | os.PathLike | None) -> Path:
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
    paths = sorted(_results_root(root).glob(f"*/{chapter}/{name}"),
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
    if "a" in entry:
        v = Effect(entry["a"], entry["b"], entry.get("paired", True))
    elif "x" in entry:
        v = Correlation(entry["x"], entry["y"], entry.get("method", "spearman"), entry.get("sign", 0))
    elif "seeds" in entry:
        v = Seeds(entry["seeds"])
    elif "checks" in entry:
        v = list(entry["checks"])
    else:
        v = entry.get("ours")
        v = float(v) if v in ("nan", "inf", "-inf") else v      # as _plain wrote them
    return Undecided(entry["undecided"], v) if "undecided" in entry else v


def rejudge(claim: Claim, entry: Mapping) -> ClaimResult:
    """``claim`` (today's rule) judged on the numbers a record kept. A record that kept only a number for a
    claim now judged on seeds (an effect or a correlation), or only the fraction of sub-checks that held, is
    "inconclusive": the numbers stay, and they cannot show the effect is beyond noise."""
    value = value_from_record(entry)
    if claim.relation in ("effect", "correlation") and not isinstance(value, (Effect, Correlation, Undecided)):
        if value is None or _nonfinite(value):
            return claim.judge(value)
        return ClaimResult(claim, value, "inconclusive",
                           "this record kept one number, not the per-seed values this rule needs")
    if claim.relation == "holds" and not isinstance(value, (list, tuple, Undecided)) and value is not None \
            and not _nonfinite(value):
        return ClaimResult(claim, value, "inconclusive", "this record kept the fraction of sub-checks that held, "
                                                         "not the outcomes (beyond noise or not) this rule needs")
    if claim.relation != "holds" and isinstance(value, (list, tuple)):
        return ClaimResult(claim, value, "inconclusive", "this record kept sub-checks, not the number this rule needs")
    return claim.judge(value)


def todays_claims(chapter: str) -> dict | None:
    """The chapter's claims as its code defines them today (``experiments.chN.claims.CLAIMS``); None when the
    chapter has no package (e.g. a test's made-up chapter)."""
    from .runner import chapter_module

    try:
        return dict(chapter_module(chapter).claims.CLAIMS)
    except (ValueError, ImportError, AttributeError):
        return None


def record_values(chapter: str, rec: dict) -> dict | None:
    """Today's claim values recomputed from a whole-run record's ``numbers``, where the chapter can
    (``experiments.chN.records.record_values``: chapters 2 and 3 keep their tables in their records); else None."""
    from .runner import chapter_module

    try:
        fn = chapter_module(chapter).records.record_values
    except (ValueError, ImportError, AttributeError):
        return None
    return fn(rec)


def rejudged(rec: dict, claims: dict | None, values: dict | None = None) -> list[dict]:
    """A record's claims judged by today's rules: the numbers it kept stay, the verdict and its *why* are
    recomputed, the verdict it recorded is kept as ``recorded_verdict``. ``values`` (``record_values``), where
    given, are today's claim values recomputed from the record's numbers; otherwise each claim is judged on what
    its entry kept (``rejudge``). Claims no longer defined are left out; with ``claims`` None the record's
    own verdicts stand."""
    if claims is None:
        return list(rec.get("claims", []))
    out = []
    for c in rec.get("claims", []):
        if c["id"] not in claims:
            continue
        if values is not None and values.get(c["id"]) is not None:
            r = claims[c["id"]].judge(values[c["id"]])
        else:
            r = rejudge(claims[c["id"]], c)
        out.append(r.to_dict() | {"recorded_verdict": c.get("verdict")})
    return out


def recorded_runs(chapter: str, root: str | os.PathLike | None = None, names: tuple[str, ...] = ("results.json",)):
    """The runs of ``chapter`` committed under ``results/<profile>/<chapter>/<name>`` for each of ``names``.

    Args:
        names: the record files to list (``results.json`` is a page's record; older whole-run records, e.g.
            ``h100_results.json``, sit beside it).
    Returns:
        A pandas DataFrame, one row per recorded run: profile, record, device, date, wall time, and the
        count of each verdict among the reproductions, judged by today's rules (``rejudged``). Empty when nothing
        is recorded.
    """
    import pandas as pd

    from .claims import VERDICTS

    rows, claims = [], todays_claims(chapter)
    for name in names:
        for rec in recorded(chapter, root, name).values():
            again = rejudged(rec, claims, record_values(chapter, rec))
            verdicts = [c["verdict"] for c in again if c.get("kind", "reproduction") == "reproduction"]
            rows.append({"profile": rec["profile"], "record": name, "device": rec["device"],
                         "date": rec.get("date", "")[:10], "wall time (s)": rec["wall_time_s"],
                         **{v: verdicts.count(v) for v in VERDICTS}})
    return pd.DataFrame(rows, columns=["profile", "record", "device", "date", "wall time (s)", *VERDICTS])


def recorded_claims(chapter: str, root: str | os.PathLike | None = None):
    """Claim by claim, what each committed run of ``chapter`` measured and its verdict.

    The book built in one profile (e.g. ``quick`` on CI) shows the verdicts of the others from their
    records, so a reader sees the evidence of the longer runs without re-running them.

    Returns:
        A pandas DataFrame indexed by claim id: the claim's kind, source and paper value, then for each
        recorded profile ``<profile>: ours`` (numbers as text with 3 significant digits) and
        ``<profile>: verdict`` by today's rules (``rejudged``). Empty when nothing is recorded.
    """
    import pandas as pd

    rows: dict[str, dict] = {}
    claims = todays_claims(chapter)
    for prof, rec in recorded(chapter, root).items():
        for c in rejudged(rec, claims, record_values(chapter, rec)):
            row = rows.setdefault(c["id"], {"kind": c.get("kind", "reproduction"), "source": c.get("source", ""),
                                            "paper": c.get("paper")})
            ours = c.get("ours")
            row[f"{prof}: ours"] = f"{ours:.3g}" if isinstance(ours, float) else ours  # text: 1e-15 stays 1e-15
            row[f"{prof}: verdict"] = c.get("verdict")
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "claim"
    return frame
