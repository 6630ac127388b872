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
committed record took 63 min on 2 cores without widths (MNIST6 1,427 s, augmentations 2,339 s); width 1 adds
~10 min, width 2 ~30 min.
"""
import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

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
    ap.add_argument("--profile", default="standard", help="whose settings (quick: a smoke test of this script)")
    ap.add_argument("--experiments", nargs="*", default=["mnist6", "augmentations"],
                    choices=["mnist6", "augmentations"], help="which to (re)run besides the cheap demo and toy CNNs")
    ap.add_argument("--merge", action="store_true",
                    help="keep the experiments of an existing --out record that are not rerun")
    a = ap.parse_args()
    prof = resolve(a.profile, device="cpu")
    s = settings(ch3.SETTINGS, prof)
    s = replace(s, widths=tuple(a.widths))
    rec = RunRecord(CHAPTER, prof, a.seed)
    strip = lambda r: {k: v for k, v in r.items() if k != "parts"}  # noqa: E731
    got: dict = {"demo": None, "fig2b": None, "toy": None, "mn": None, "aug": None, "wid": None}
    seconds: dict = {}
    if a.merge and a.out.exists():  # earlier experiments: their numbers, and arrays back for claim_values
        old = json.loads(a.out.read_text())
        def arrays(r: dict) -> dict:
            runs = [{k: np.array(v) if isinstance(v, list) and k != "layers" else v for k, v in x.items()}
                    for x in r["runs"]]
            return {"acc": r["acc"], "runs": runs}
        for key, name in (("mnist6", "mn"), ("augmentations", "aug"), ("widths", "wid")):
            if key in old["numbers"] and key not in a.experiments:
                rec.add(**{k: old["numbers"][k] for k in old["numbers"]
                           if k == key or (key == "augmentations" and k in ("fig2b", "n_train_cifar"))})
                got[name] = {(int(k) if key == "widths" else k): arrays(r) for k, r in old["numbers"][key].items()}
                seconds[key] = old["numbers"]["seconds"][key]
                if key == "augmentations":
                    got["fig2b"] = old["numbers"]["fig2b"]
        rec.add(merged_from={"date": old["date"], "kept": list(seconds)})

    def write(stage: str, t0: float) -> None:
        seconds[stage] = round(time.perf_counter() - t0, 1)
        values = {m: ch3.claim_values(**got, pre=None, matching=m) for m in ("sample", "shared")}
        rec.add(experiments=list(seconds), seconds=seconds, claim_values=values["sample"],
                claim_values_shared=values["shared"], settings={k: v for k, v in s.__dict__.items()})
        d = rec.to_dict()
        d["what"] = ("chapter 3 at the standard settings on a CPU, the experiments that fit there "
                     "(scripts/ch3_cpu_parts.py); widths: " + (", ".join(map(str, s.widths)) or "none"))
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(d, indent=1) + "\n")
        print(f"{stage}: {seconds[stage]:.0f} s; claims (c' per image) {values['sample']}; (shared c') "
              f"{values['shared']}", flush=True)

    t = time.perf_counter()
    got["demo"], got["toy"] = ch3.run_similarity_demo(a.seed), ch3.run_toy(seed=a.seed)
    rec.add(similarity_demo={k: got["demo"][k] for k in ("correlation", "cosine")},
            toy={n: strip(r) for n, r in got["toy"].items()})
    write("demo+toy", t)

    if "augmentations" in a.experiments:
        t = time.perf_counter()
        aug = ch3.run_augmentations(s, prof.device, a.seed)
        got["aug"], got["fig2b"] = aug, aug["fig2b"]
        rec.add(augmentations={k: {"acc": aug[k]["acc"], "runs": [strip(x) for x in aug[k]["runs"]]}
                               for k in s.augmentations}, fig2b=aug["fig2b"], n_train_cifar=aug["n_train"])
        write("augmentations", t)

    if "mnist6" in a.experiments:
        t = time.perf_counter()
        got["mn"] = ch3.run_mnist6(s, prof.device, a.seed)
        rec.add(mnist6={k: {"acc": r["acc"], "runs": [strip(x) for x in r["runs"]]} for k, r in got["mn"].items()})
        write("mnist6", t)

    if s.widths:
        t = time.perf_counter()
        got["wid"] = wid = ch3.run_widths(s, prof.device, a.seed, reuse=got["aug"])
        rec.add(widths={str(k): {"acc": wid[k]["acc"], "runs": [strip(x) for x in wid[k]["runs"]]} for k in s.widths})
        write("widths", t)
    print("written", a.out)


if __name__ == "__main__":
    main()
