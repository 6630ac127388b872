"""``Evidence``: the stored parts a page renders, and where they came from.

A page gets one from ``helpers.runner.evidence(chapter, profile, store)``; ``ev[name]`` is a part's result,
``ev.meta[name]`` its provenance (device, date, wall time, commit, settings hash). Shown in a notebook it is the
line a chapter opens with, and ``ev.record(table, output_dir)`` writes the page's ``results.json``.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .provenance import now, versions

__all__ = ["Evidence", "fmt_seconds"]


def fmt_seconds(seconds: float) -> str:
    """``"12.3 s"`` below two minutes, ``"4.5 min"`` above."""
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@dataclass(repr=False)
class Evidence(Mapping):
    """The stored parts a page renders: ``ev[name]`` is a part's result, ``ev.meta[name]`` where it came from.

    Shown in a notebook, it is the line a chapter opens with: profile, devices, dates, compute time.
    """

    chapter: str
    profile: str
    requested: str
    note: str
    results: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)
    settings: Any = None  # the settings the parts ran with (the profile's, or an override)
    missing: list = field(default_factory=list)  # parts of the profile not stored (``runner.stored_so_far``)

    def __getitem__(self, name: str) -> Any:
        if name not in self.results:
            raise KeyError(f"{self.chapter} has no part {name!r} in profile {self.profile}; "
                           f"stored: {list(self.results)}")
        return self.results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def compute_s(self) -> float:
        """Wall time of all the parts, summed (each as it ran, wherever it ran)."""
        return float(sum(m.get("wall_time_s", 0.0) for m in self.meta.values()))

    @property
    def devices(self) -> dict[str, int]:
        """``{device: number of parts computed there}``."""
        return dict(Counter(m.get("device", "?") for m in self.meta.values()))

    def _code(self) -> str:
        """The headline's code clause: ", code at commit `a`, `b`" for up to three commits; beyond that their count and the newest (a part
        computed over several sessions, or a profile computed over days, has many; each part's meta names its own)."""
        newest: dict[str, str] = {}
        for m in self.meta.values():
            c = m.get("git_commit", "")
            if c:
                newest[c] = max(newest.get(c, ""), str(m.get("date", "")))
        if not newest:
            return ""
        if len(newest) <= 3:
            return f", code at commit {', '.join(f'`{c}`' for c in sorted(newest))}"
        last = max(newest, key=lambda c: (newest[c], c))
        dirty = sum(c.endswith("+dirty") for c in newest)
        return (f", code at {len(newest)} commits (the newest `{last}`"
                + (f"; {dirty} with uncommitted changes in the tree" if dirty else "")
                + "; each part's record names its own)")

    def headline(self) -> str:
        """One paragraph (Markdown) naming the evidence."""
        days = sorted(m.get("date", "")[:10] for m in self.meta.values()) or [""]
        when = days[0] if days[0] == days[-1] else f"{days[0]} to {days[-1]}"
        devices = ("; ".join(f"{d} ({n} part{'s' if n > 1 else ''})" for d, n in self.devices.items())
                   if len(self.devices) > 1 else next(iter(self.devices), "no device"))
        if self.missing:
            shown = ", ".join(f"`{n}`" for n in self.missing[:8]) + (", ..." if len(self.missing) > 8 else "")
            return (f"**Stored so far:** the **{self.profile}** profile, {len(self)} of {len(self) + len(self.missing)} "
                    f"parts, computed on {devices}, {when}, {fmt_seconds(self.compute_s)} of compute. Not yet "
                    f"computed: {shown}. What these parts decide is shown below; the claims are judged once every "
                    "part is stored.")
        text = (f"**Evidence on this page:** the **{self.profile}** profile, {len(self)} stored parts computed on "
                f"{devices}, {when}, {fmt_seconds(self.compute_s)} of compute"
                + self._code() + ".")
        if self.requested == "best" and self.note:
            text += f" *Why this profile:* {self.note}."
        elif self.requested not in (self.profile, "best"):
            text += f" (Asked for `{self.requested}`.)"
        return text

    def _repr_markdown_(self) -> str:
        return self.headline()

    def __repr__(self) -> str:
        return self.headline().replace("**", "").replace("*", "").replace("`", "")

    def record(self, table=None, output_dir: str | os.PathLike | None = None, **numbers: Any) -> Path:
        """Write the page's ``results.json`` (the schema in docs/architecture.md, *Claims and page records*):
        chapter, profile, device(s), the parts' summed wall time, versions, date, the parts' provenance under
        ``numbers["parts"]``, ``numbers`` and the claims of ``table``. Returns its path."""
        import json

        from .records import _jsonable, output_dir_for

        if self.missing:
            raise ValueError(f"{self.chapter} ({self.profile}): {len(self.missing)} parts are not stored "
                             f"({', '.join(self.missing)}); a record needs every part")

        out = output_dir_for(self.chapter, self.profile, output_dir)
        out.mkdir(parents=True, exist_ok=True)
        prov = {n: {k: m.get(k) for k in ("device", "date", "wall_time_s", "git_commit", "settings_hash", "threads")}
                for n, m in self.meta.items()}
        doc = {"chapter": self.chapter, "profile": self.profile,
               "device": "; ".join(self.devices), "wall_time_s": round(self.compute_s, 2), "versions": versions(),
               "date": now(), "numbers": {"parts": prov, **numbers},
               "claims": table.to_records() if table is not None else []}
        path = out / "results.json"
        path.write_text(json.dumps(_jsonable(doc), indent=2) + "\n")
        return path
