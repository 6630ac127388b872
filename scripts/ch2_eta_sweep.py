"""Chapter 2, a diagnostic beyond the paper: does the ELBO reward translation and scale invariance at all?

In Table 2 (the paper's claim C2.5 / C2.6) the translation and scale generators of our ReLU nets end at 0 even
on translated and scaled MNIST, from eta = 0 and from 0.3, at either learning rate. This script trains Table
2's ReLU net with those generators *fixed* at several values (and learned from one value, as a control) on
the dataset each invariance matches, plus translation on regular MNIST, and records the training ELBO and test
accuracy of each member. If the ELBO-best fixed value is 0, learning eta down to 0 follows the objective.

    HELPERS_DATA=../shared/data python scripts/ch2_eta_sweep.py [--hidden 256] [--samples 8] [--epochs 5]

Writes ``results/standard/02_invariant_weights/cpu_eta_sweep.json`` after each sweep (the chapter shows it).
``--profile quick`` runs the quick settings (a smoke test, ~1 min).
"""
import time

from _ch2_budget import CHAPTER, budget, parser
from helpers.experiments import ch2
from helpers.records import RunRecord

#: (invariance, dataset, fixed values, learned from): App. D's ranges are 8 px = 0.57 and log 2 = 0.69
SWEEPS = [("translation", "translated", (0.0, 0.1, 0.25, 0.5), (0.25,)),
          ("scale", "scaled", (0.0, 0.15, 0.35, 0.7), (0.35,)),
          ("translation", "regular", (0.0, 0.1, 0.25, 0.5), (0.25,))]


def main() -> None:
    a = parser(__doc__, "cpu_eta_sweep.json").parse_args()
    prof, s = budget(a)
    rec = RunRecord(CHAPTER, prof, a.seed, output_dir=a.out.parent)
    done: list[dict] = []
    for inv, variant, values, learned in SWEEPS:
        t = time.perf_counter()
        r = ch2.run_eta_sweep(s, inv, variant, values, prof.device, a.seed, learned_from=learned)
        done.append(r)
        rec.add(sweeps=done, settings=s.__dict__)
        rec.write(name=a.out.name, what=(
            f"fixed and learned {', '.join(sorted({d['invariance'] for d in done}))} eta of Table 2's ReLU net "
            f"on a CPU (scripts/ch2_eta_sweep.py): {s.n_train:,} training images, {s.hidden} hidden units, "
            f"S = {s.table2.samples}, {s.table2.epochs} epochs"))
        best = r["names"][int(r["elbo"].argmax())]
        print(f"{inv} on {variant}: {time.perf_counter() - t:.0f} s; ELBO-best member: {best}", flush=True)
    print(ch2.eta_sweep_frame(done).to_string())
    print("written", a.out)


if __name__ == "__main__":
    main()
