"""Command line: ``python -m helpers {run,build,parts,list,verify,migrate-store,freeze-records}``.

    python -m helpers run --chapter 1 3 --profile quick     # compute missing parts, then render the pages
    python -m helpers run --chapter 2 --profile paper --parts table1-rff-full --cluster ray
    python -m helpers run --chapter 1 --profile standard --store results   # compute committed evidence
    python -m helpers run --chapter 3 -p image_dir imagenette   # a further notebook parameter
    python -m helpers build                                  # render every chapter from its best stored profile
    python -m helpers parts --chapter 1                      # which parts are stored, per profile
    python -m helpers list                                   # chapters and profiles
    python -m helpers verify                                 # check every committed part against its hashes
    python -m helpers migrate-store --force                  # convert results/ to the current store format, once
    python -m helpers freeze-records                         # judge the earlier whole-run records by today's rules
"""
from __future__ import annotations

import argparse
import os
import sys

from . import chapters, registry
from .lookup import PROFILE_CHOICES

_PROFILE_HELP = ("quick | standard | paper | auto (standard with CUDA, quick without) | best (the best profile "
                 "whose parts are all stored, else auto)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="compute the chapters' missing parts, then render their pages")
    run.add_argument("--chapter", nargs="+", default=["all"], metavar="N",
                     help=f"chapter keys ({', '.join(c.key for c in registry.CHAPTERS)}, chN, 0N) or 'all'")
    run.add_argument("--profile", default="best", choices=PROFILE_CHOICES, help=_PROFILE_HELP)
    run.add_argument("--parts", nargs="+", default=None, metavar="NAME",
                     help="compute only these parts of the one selected chapter (no page)")
    run.add_argument("--cluster", default=None, metavar="ray|ray://HOST:PORT",
                     help="run each missing part as a Ray task: 'ray' starts a local Ray, 'ray://HOST:PORT' "
                          "joins an existing cluster (needs the 'cluster' extra)")
    run.add_argument("--store", default=None, metavar="DIR",
                     help="where computed parts go (default _build/store); 'results' writes committed evidence")
    run.add_argument("--force", action="store_true", help="allow replacing committed evidence in results/")
    run.add_argument("--recompute", action="store_true", help="compute the selected parts even where stored")
    run.add_argument("--ignore-committed", action="store_true",
                     help="do not read the committed results/: compute everything anew into --store")
    run.add_argument("--no-pages", action="store_true", help="compute parts only; render no page")
    run.add_argument("--threads", type=int, default=None, help="torch threads for parts computed in this process")
    run.add_argument("--part-timeout", type=float, default=None, metavar="S",
                     help="seconds one part may compute in this process (default: quick 3600, others none; 0: none); "
                          "a part stopped by it keeps its checkpoints")
    run.add_argument("--lock-wait", type=float, default=None, metavar="S",
                     help="seconds to wait for a part another run holds (default 3600)")
    run.add_argument("--out", default=None, help="where executed pages go (default _build/runs/<profile>)")
    run.add_argument("--log-output", action="store_true", help="stream the pages' cell output")
    run.add_argument("--cell-timeout", type=int, default=None, metavar="S",
                     help="seconds a page's cell may run (default: quick 900, standard 3600, paper none)")
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="a further notebook parameter, e.g. -p image_dir imagenette (chapter 3); "
                          "VALUE is read as a Python literal where it is one, else as a string")
    build = sub.add_parser("build", help="render every chapter and build the HTML book")
    build.add_argument("--profile", default="best", choices=PROFILE_CHOICES, help=_PROFILE_HELP)
    build.add_argument("--cluster", default=None, metavar="ray|ray://HOST:PORT", help="as for run")
    build.add_argument("--store", default=None, metavar="DIR", help="as for run")
    build.add_argument("--no-execute", action="store_true", help="build the clean notebooks without running them")
    build.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    build.add_argument("--mathjax", default=None, metavar="TGZ",
                       help="MathJax's npm tarball (npm pack mathjax@3.2.2) where the registry cannot be reached")
    parts = sub.add_parser("parts", help="list a chapter's parts and where each profile has them stored")
    parts.add_argument("--chapter", nargs="+", default=["all"], metavar="N")
    parts.add_argument("--profile", nargs="+", default=None, choices=PROFILE_CHOICES[:-2], metavar="PROFILE")
    parts.add_argument("--store", default=None, metavar="DIR")
    sub.add_parser("list", help="list chapters and profiles")
    verify = sub.add_parser("verify", help="check every stored part (the committed results/ by default) against "
                                           "its content and settings hashes")
    verify.add_argument("--chapter", nargs="+", default=["all"], metavar="N")
    verify.add_argument("--store", nargs="+", default=None, metavar="DIR",
                        help="the stores to check (default: the committed results/)")
    migrate = sub.add_parser("migrate-store", help="convert a store's parts to the current format once (records the "
                                                   "data each was computed on and adds content hashes; computes "
                                                   "nothing)")
    migrate.add_argument("--store", default="results", metavar="DIR", help="default: the committed results/")
    migrate.add_argument("--force", action="store_true", help="needed to convert the committed results/")
    migrate.add_argument("--dry-run", action="store_true", help="list what would be converted")
    freeze = sub.add_parser("freeze-records", help="judge the earlier whole-run records by today's rules once and "
                                                   "write each chapter's frozen table (results/history/)")
    freeze.add_argument("--out", default=None, metavar="DIR", help="default: results/history")
    return p


def _literal(text: str):
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"True"`` -> True; anything else stays the string."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parts_table(keys, profiles, store) -> None:
    from . import lookup

    where = lookup.stores(store)
    for ch in registry.get_chapters(keys):
        module = registry.chapter_module(ch.stem)
        for prof in profiles or [p for p in PROFILE_CHOICES[:-2] if p in module.SETTINGS]:
            found = lookup.find_stored(module, prof, lookup.chapter_parts(module, module.SETTINGS[prof]), where)
            print(f"{ch.stem}  {prof}: {sum(s.stored is not None for s in found)} of {len(found)} parts stored")
            for s in found:
                if s.stored is not None and s.store is not None:
                    m = s.stored.meta
                    state = (f"stored ({'committed' if s.store.protected else s.store.root}), {m.get('device')}, "
                             f"{m.get('wall_time_s', 0):.0f} s, {m.get('date', '')[:10]}")
                else:
                    state = s.note
                gpu = "gpu" if s.part.needs.gpu else "cpu"
                print(f"    {s.part.name:<28s} [{gpu}, {s.part.needs.memory_gb:g} GB]  {state}")


def _verify(keys, stores) -> int:
    from .store import committed_store, open_store

    if stores:
        where = [open_store(s) for s in stores]
    else:
        committed = committed_store()
        if committed is None:
            raise RuntimeError("no committed results/ here (helpers is installed without its checkout); name --store")
        where = [committed]
    stems: list[str | None] = [None] if keys == ["all"] else [c.stem for c in registry.get_chapters(keys)]
    bad = 0
    for st in where:
        n = 0
        problems: list[str] = []
        for stem in stems:
            k, p = st.verify(stem)
            n, problems = n + k, problems + p
        print(f"[helpers] verify {st.root}: {n} stored parts checked, "
              + (f"{len(problems)} problem(s)" if problems else "every one matches its hashes"))
        for line in problems:
            print(f"  {line}")
        bad += len(problems)
    return 1 if bad else 0


def _migrate(store: str, force: bool, dry_run: bool) -> int:
    from .migration import migrate_store
    from .store import open_store

    st = open_store(store)
    if st.protected and not force and not dry_run:
        raise FileExistsError(f"{st.root} is committed evidence; pass --force to convert it (nothing is recomputed)")
    out = migrate_store(st.root, dry_run=dry_run)
    print(f"[helpers] migrate-store {st.root}: {out['converted']} converted, {out['unchanged']} already current, "
          f"{len(out['records'])} page records updated")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .locks import release_on_sigterm

    release_on_sigterm()  # ``timeout`` / ``kill``: part locks released, temporary files removed
    try:
        if args.command == "verify":
            return _verify(args.chapter, args.store)
        if args.command == "migrate-store":
            return _migrate(args.store, args.force, args.dry_run)
        if args.command == "freeze-records":
            from .history import write

            for stem, changed in write(out=args.out).items():
                print(f"[helpers] freeze-records {stem}: {'written' if changed else 'unchanged'}")
            return 0
        if args.command == "run":
            from .runner import check_arguments

            registry.get_chapters(args.chapter)  # validate before starting anything
            check_arguments(threads=args.threads, cell_timeout=args.cell_timeout, lock_wait=args.lock_wait)
            if args.part_timeout is not None:
                if args.part_timeout < 0:
                    raise ValueError(f"--part-timeout must be >= 0 seconds, got {args.part_timeout!r}")
                os.environ["HELPERS_PART_TIMEOUT_S"] = str(args.part_timeout)
            if args.lock_wait is not None:
                os.environ["HELPERS_LOCK_WAIT_S"] = str(args.lock_wait)
            chapters.run_chapters(args.chapter, args.profile, args.out, args.log_output,
                                  params={k: _literal(v) for k, v in args.param}, store=args.store,
                                  cluster=args.cluster, parts=args.parts, force=args.force, recompute=args.recompute,
                                  pages=not args.no_pages, threads=args.threads, cell_timeout=args.cell_timeout,
                                  committed=False if args.ignore_committed else None)
        elif args.command == "build":
            chapters.build_book(args.profile, execute=not args.no_execute, strict=not args.no_strict,
                                store=args.store, cluster=args.cluster, mathjax=args.mathjax)
        elif args.command == "parts":
            _parts_table(args.chapter, args.profile, args.store)
        else:
            have = {c.key for c in registry.available()}
            for c in registry.CHAPTERS:
                print(f"{c.key}  {'ready  ' if c.key in have else 'not yet'}  {c.notebook}  {c.title}")
            print("profiles:", ", ".join(PROFILE_CHOICES))
    except (ValueError, RuntimeError, FileExistsError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
