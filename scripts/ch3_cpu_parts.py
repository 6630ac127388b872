"""Chapter 3 at the standard profile's settings, on a CPU: the experiments that fit on two cores.

The standard profile of chapter 3 is sized for one GPU; its wide ResNets (WRN-40-4 and -8) would take
days on two CPU cores. This script runs the rest at the standard settings (3 seeds of the MNIST6 CNN on
20,000 images; ResNet-44 with each augmentation on the offline CIFAR-10 subset; 15 epochs each) and, with
``--widths 1 2``, the two narrowest WRN-40s:

    HELPERS_DATA=../shared/data python scripts/ch3_cpu_parts.py [--widths 1 2] [--out PATH]

It writes ``results/standard/03_learned_equivariance_depth/cpu_parts.json`` after every experiment (so an
interrupted run keeps what it finished): the numbers in the notebook record's layout, the value of each
claim the finished experiments decide (``ch3.claim_values``; the verdicts are the chapter's, computed where
the chapter shows this record), which experiments ran, and the wall time of each. The
committed record took 63 min on 2 cores without widths (MNIST6 1,427 s, augmentations 2,339 s); the width study
alone (``--experiments --widths 1 2 --out .../cpu_widths.json``) took 2,040 s.

``--device cuda`` runs the same parts on a GPU (e.g. the WRN-40-4 and -8 of Fig. 6b, which a CPU cannot train in
reasonable time: ``--device cuda --experiments --widths 4 8 --out .../gpu_widths.json``).
"""
import argparse
import time
from dataclasses import replace
from pathlib import Path

from helpers.experiments import ch3
from helpers.profiles import resolve, settings
from helpers.records import RunRecord

CHAPTER = "03_learned_equivariance_depth"
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="*", default=[], help="WRN-40 width factors to train (default none)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "standard" / CHAPTER / "cpu_parts.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--profile", default="standard", help="whose settings (quick: a smoke test of this script)")
    ap.add_argument("--experiments", nargs="*", default=["mnist6", "augmentations"],
                    choices=["mnist6", "augmentations"], help="which to run besides the cheap demo and toy CNNs")
    a = ap.parse_args()
    prof = resolve(a.profile, device=a.device)
    s = replace(settings(ch3.SETTINGS, prof), widths=tuple(a.widths))
    rec = RunRecord(CHAPTER, prof, a.seed, output_dir=a.out.parent)
    got: dict = {"demo": None, "toy": None, "mn": None, "aug": None, "wid": None}
    seconds: dict = {}

    def write(stage: str, t0: float) -> None:
        seconds[stage] = round(time.perf_counter() - t0, 1)
        fig2b = got["aug"]["fig2b"] if got["aug"] else None
        values = {m: ch3.claim_values(**got, fig2b=fig2b, pre=None, matching=m) for m in ("sample", "shared")}
        rec.add(**ch3.record_numbers(**got), experiments=list(seconds), seconds=seconds,
                claim_values=values["sample"], claim_values_shared=values["shared"], settings=s.__dict__)
        where = "a CPU, the experiments that fit there" if prof.device.type == "cpu" else "a GPU"
        rec.write(name=a.out.name, what=f"chapter 3 at the {prof.name} settings on {where} "
                  "(scripts/ch3_cpu_parts.py); widths: " + (", ".join(map(str, s.widths)) or "none"))
        print(f"{stage}: {seconds[stage]:.0f} s; claims (c' per image) {values['sample']}; (shared c') "
              f"{values['shared']}", flush=True)

    t = time.perf_counter()
    got["demo"], got["toy"] = ch3.run_similarity_demo(a.seed), ch3.run_toy(seed=a.seed)
    write("demo+toy", t)
    runners = {"augmentations": ("aug", lambda: ch3.run_augmentations(s, prof.device, a.seed)),
               "mnist6": ("mn", lambda: ch3.run_mnist6(s, prof.device, a.seed)),
               "widths": ("wid", lambda: ch3.run_widths(s, prof.device, a.seed, reuse=got["aug"]))}
    for stage in [e for e in runners if e in a.experiments or (e == "widths" and s.widths)]:
        t = time.perf_counter()
        key, run = runners[stage]
        got[key] = run()
        write(stage, t)
    print("written", a.out)


if __name__ == "__main__":
    main()
