"""The book's landing page of verdicts: one row per chapter, generated from the page records when the book is built.

A row says which paper the chapter reproduces, which profile its page renders, where that evidence was computed,
and how its reproductions came out (reproduced, partly, inconclusive, not reproduced; diverged and not run where
there are any), with a link to the chapter's claims table. Nothing in it is typed:

- the record is the ``results.json`` of the page the book shows: the one this build's page wrote
  (``HELPERS_PAGE_RECORDS``: the records' paths, separated by ``os.pathsep``, set by
  ``helpers.chapters.build_book`` when it renders the pages), else the committed
  ``results/<profile>/<chapter>/results.json`` of the best profile that has one (paper, steps, standard, quick:
  ``helpers.lookup.BEST_ORDER``);
- the verdicts are the record's own: a page record is written from the stored parts by today's rules
  (``tests/test_rejudged_records.py`` checks that each committed one is what today's parts and rules give), so
  nothing is judged again here;
- the paper is what the chapter's first cell cites, the title its first heading, and the link goes to the section
  that renders its claims table (the first code cell calling ``claims.table``).

As a Sphinx extension (``_config.yml``'s ``sphinx.extra_extensions``) it adds the ``verdicts`` directive that
``book/intro.md`` uses.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .records import results_root
from .registry import CHAPTERS, repo_root

__all__ = ["ChapterVerdicts", "PAGE_RECORDS_ENV", "chapter_verdicts", "page_record", "claims_anchor", "setup"]

#: The records the pages of this build wrote (``.../<chapter stem>/results.json``, separated by ``os.pathsep``).
PAGE_RECORDS_ENV = "HELPERS_PAGE_RECORDS"
_CITE = re.compile(r"\{cite:[a-z]+\}`([^`]+)`")


@dataclass
class ChapterVerdicts:
    """One chapter's row of the landing table."""

    key: str
    stem: str
    title: str
    papers: list[str]                   # bibliography keys the chapter's first cell cites
    anchor: str                         # id of the section holding the claims table
    profile: str | None = None          # None: no page record
    device: str = ""
    date: str = ""
    source: str = ""                    # "this build" or "committed"
    record: Path | None = None          # the results.json read
    counts: dict[str, int] = field(default_factory=dict)   # verdict -> number of reproductions

    def summary(self) -> str:
        """``"7 of 9 reproduced; 1 partly, 1 not reproduced"``: the reproductions judged, then each other verdict
        that occurs, in ``helpers.claims.VERDICTS`` order."""
        from .claims import VERDICTS

        total = sum(self.counts.values())
        if not total:
            return "no reproductions"
        rest = [f"{self.counts[v]} {v}" for v in VERDICTS if v != "reproduced" and self.counts.get(v)]
        return f"{self.counts.get('reproduced', 0)} of {total} reproduced" + ("; " + ", ".join(rest) if rest else "")


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text())["cells"]


def _slug(heading: str) -> str:
    """The id docutils gives a section with this heading (``nodes.make_id`` of its text)."""
    from docutils import nodes

    text = re.sub(r"[`*_]", "", heading.lstrip("#").strip())
    return nodes.make_id(text)


def claims_anchor(nb_path: Path) -> str:
    """The id of the section (``## ...``) in which a chapter renders its claims table.

    Raises:
        ValueError: a notebook with no code cell that calls ``claims.table(`` under a ``##`` heading.
    """
    heading = None
    for c in _cells(nb_path):
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            found = [line for line in src.splitlines() if line.startswith("## ")]
            heading = found[-1] if found else heading
        elif heading and re.search(r"^\s*\w+\s*=\s*\w+\.claims\.table\(", src, flags=re.M):
            return _slug(heading)
    raise ValueError(f"{nb_path.name}: no section renders the claims table (a code cell `table = chN.claims.table(...)` "
                     "under a ## heading)")


def _title_and_papers(nb_path: Path) -> tuple[str, list[str]]:
    first = "".join(_cells(nb_path)[0]["source"])
    title = next((line.lstrip("#").strip() for line in first.splitlines() if line.startswith("# ")), nb_path.stem)
    keys = [k.strip() for keys in _CITE.findall(first) for k in keys.split(",")]
    return title, list(dict.fromkeys(keys))


def page_record(stem: str, root=None, built=None) -> tuple[dict | None, str, Path | None]:
    """The record of the page the book shows for chapter ``stem``: ``(record, "this build" | "committed", path)``.

    ``built`` (default: ``$HELPERS_PAGE_RECORDS``, split on ``os.pathsep``): the records this build's pages wrote;
    the one in a folder named ``stem`` is this chapter's. Without them, the committed record of the best profile
    that has one. ``(None, "", None)`` when there is none.

    Raises:
        ValueError: a committed record whose profile is not the one its folder names.
    """
    from .lookup import BEST_ORDER

    if built is None:
        built = [p for p in os.environ.get(PAGE_RECORDS_ENV, "").split(os.pathsep) if p]
    if built:
        mine = [Path(p) for p in built if Path(p).parent.name == stem and Path(p).exists()]
        return (json.loads(mine[0].read_text()), "this build", mine[0]) if mine else (None, "", None)
    for profile in BEST_ORDER:
        path = results_root(root) / profile / stem / "results.json"
        if path.exists():
            rec = json.loads(path.read_text())
            if rec.get("profile") != profile:
                raise ValueError(f"{path} records profile {rec.get('profile')!r}, not {profile!r}")
            return rec, "committed", path
    return None, "", None


def chapter_verdicts(root=None, built=None) -> list[ChapterVerdicts]:
    """One ``ChapterVerdicts`` per chapter whose notebook exists, in the book's order (``built``: see
    ``page_record``)."""
    root = Path(root) if root is not None else repo_root()
    rows = []
    for ch in CHAPTERS:
        nb = root / ch.notebook
        if not nb.exists():
            continue
        title, papers = _title_and_papers(nb)
        row = ChapterVerdicts(ch.key, ch.stem, title, papers, claims_anchor(nb))
        rec, source, row.record = page_record(ch.stem, root, built)
        if rec is not None:
            verdicts = [c["verdict"] for c in rec.get("claims", []) if c.get("kind", "reproduction") == "reproduction"]
            row.profile, row.device, row.date, row.source = rec["profile"], rec.get("device", ""), \
                rec.get("date", "")[:10], source
            row.counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- Sphinx directive
def _verdict_table(directive, rows: list[ChapterVerdicts]):
    """A docutils table: #, chapter (title linked, the paper cited under it), the profile and device the page
    renders, its reproductions' verdicts, a link to its claims table."""
    from docutils import nodes
    from sphinx import addnodes

    def para(*children, classes=()):
        return nodes.paragraph("", "", *children, classes=list(classes))

    def cell(*children, classes=()):
        return nodes.entry("", *children, classes=list(classes))

    headers = ["#", "chapter and paper", "rendered from", "its reproductions, by today's rules", ""]
    table = nodes.table(classes=["ls-verdicts"])
    table += nodes.title("", "What holds, chapter by chapter: the verdicts of the page this book renders")
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in (1, 9, 5, 8, 3):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += nodes.row("", *[cell(para(nodes.Text(h))) for h in headers])
    body = nodes.tbody()
    group += body
    for r in rows:
        title = addnodes.pending_xref("", nodes.inline("", r.title), refdomain="std", reftype="doc",
                                      reftarget=f"/book/{r.stem}", refexplicit=True, refwarn=True)
        paper = (directive.parse_text_to_nodes("; ".join(f"{{cite:t}}`{k}`" for k in r.papers)) if r.papers
                 else [para(nodes.Text("how every chapter runs"))])
        for p in paper:
            p["classes"].append("ls-paper")
        if r.profile is None:
            evidence, verdicts = [para(nodes.Text("—"))], [para(nodes.Text("no page record"))]
        else:
            evidence = [para(nodes.literal("", r.profile), nodes.Text(" profile")), para(nodes.Text(r.device))]
            verdicts = [para(nodes.Text(r.summary()))]
        link = nodes.reference("", "claims", refuri=f"{r.stem}.html#{r.anchor}", internal=True)
        body += nodes.row("", cell(para(nodes.Text(r.key))), cell(para(title), *paper), cell(*evidence),
                          cell(*verdicts, classes=["ls-counts"]), cell(para(link)), classes=[f"ls-chapter-{r.key}"])
    return table


def setup(app):
    """Sphinx extension: the ``verdicts`` directive (the landing table, built from the page records)."""
    from sphinx.util.docutils import SphinxDirective

    class Verdicts(SphinxDirective):
        has_content = False

        def run(self):
            rows = chapter_verdicts()
            root = repo_root()
            for ch in rows:   # the intro is read again whenever a notebook or a record it used changes
                self.env.note_dependency(str(root / "book" / f"{ch.stem}.ipynb"))
                if ch.record is not None:
                    self.env.note_dependency(str(ch.record))
            return [_verdict_table(self, rows)]

    app.add_directive("verdicts", Verdicts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
