"""Command line: ``python -m helpers {run,build,list}``.

    python -m helpers run --chapter 1 3 --profile quick     # papermill, headless
    python -m helpers run --chapter 3 -p image_dir imagenette   # a further notebook parameter
    python -m helpers build --profile auto                  # execute every chapter, build _build/html
    python -m helpers list                                   # chapters and profiles
"""
from __future__ import annotations

import argparse
import sys

from . import chapters
from .profiles import PROFILES

_PROFILES = [*PROFILES, "auto"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute chapters headlessly with papermill")
    run.add_argument("--chapter", nargs="+", default=["all"], metavar="N",
                     help=f"chapter keys ({', '.join(c.key for c in chapters.CHAPTERS)}) or 'all'")
    run.add_argument("--profile", default="auto", choices=_PROFILES)
    run.add_argument("--out", default=None, help="output folder (default _build/runs/<profile>)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--log-output", action="store_true", help="stream the notebooks' output")
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="a further notebook parameter, e.g. -p image_dir imagenette (chapter 3); "
                          "VALUE is read as a Python literal where it is one, else as a string")
    build = sub.add_parser("build", help="execute every chapter and build the HTML book")
    build.add_argument("--profile", default="auto", choices=_PROFILES)
    build.add_argument("--no-execute", action="store_true", help="build the clean notebooks without running them")
    build.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    sub.add_parser("list", help="list chapters and profiles")
    return p


def _literal(text: str):
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"True"`` -> True; anything else stays the string."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            chapters.get_chapters(args.chapter)  # validate before starting anything
            chapters.run_chapters(args.chapter, args.profile, args.out, args.seed, args.log_output,
                                  params={k: _literal(v) for k, v in args.param})
        elif args.command == "build":
            chapters.build_book(args.profile, execute=not args.no_execute, strict=not args.no_strict)
        else:
            have = {c.key for c in chapters.available()}
            for c in chapters.CHAPTERS:
                print(f"{c.key}  {'ready  ' if c.key in have else 'not yet'}  {c.notebook}  {c.title}")
            print("profiles:", ", ".join(_PROFILES))
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
