"""Merge chapter-3 part records (``scripts/ch3_cpu_parts.py`` runs of one profile on one device) into one.

    python scripts/ch3_merge_parts.py OUT.json PART.json... --what "how the parts ran"

The parts' numbers go together (``ch3.merge_part_records``: widths united, claim values recomputed), the
record's ``wall_time_s`` is the sum of the parts' experiment times (the time one process would take), and
``what`` says how they ran. The chapter shows the merged record beside the CPU ones.
"""
import argparse
import json
from pathlib import Path

from helpers.experiments import ch3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("parts", type=Path, nargs="+")
    ap.add_argument("--what", required=True, help="how the parts ran (device call, in parallel or not)")
    a = ap.parse_args()
    merged = ch3.merge_part_records([json.loads(p.read_text()) for p in a.parts])
    merged["what"] = a.what
    a.out.write_text(json.dumps(merged, indent=1) + "\n")
    n = merged["numbers"]
    print(f"written {a.out}: {', '.join(f'{k} {v:.0f} s' for k, v in n['seconds'].items())}; "
          f"claims {n['claim_values']}")


if __name__ == "__main__":
    main()
