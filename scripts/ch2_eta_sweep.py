"""Chapter 2, a study beyond the paper: does the ELBO reward translation and scale invariance at all?

In Table 2 (the paper's claim C2.5 / C2.6) the translation and scale generators of our ReLU nets end at 0 even
on translated and scaled MNIST, from eta = 0 and from 0.3, at either learning rate. This script trains Table
2's ReLU net with those generators *fixed* at several values (and learned from one value, as a control) on
the dataset each invariance matches, plus translation on regular MNIST, and records the training ELBO and test
accuracy of each member. If the ELBO-best fixed value is 0, learning eta down to 0 follows the objective.
It runs the standard profile's data, learning rates and initial values on a CPU, reduced to ``--hidden`` units,
``--samples`` transformation samples in training and ``--epochs`` epochs:

    HELPERS_DATA=../shared/data python scripts/ch2_eta_sweep.py [--hidden 256] [--samples 8] [--epochs 5] [--out PATH]

It writes ``_build/studies/02_invariant_weights/cpu_eta_sweep.json`` after each sweep; the committed record the
chapter shows, ``results/standard/02_invariant_weights/cpu_eta_sweep.json``, is replaced only when ``--out``
names it. ``--profile quick`` runs the quick settings unreduced (a smoke test, ~1 min).
"""
import argparse
import time
from pathlib import Path

from helpers.experiments import ch2
from helpers.experiments.ch2.eta_sweep import eta_sweep_frame, run_eta_sweep
from helpers.profiles import Profile, resolve, settings
from helpers.records import RunRecord

ROOT = Path(__file__).resolve().parent.parent
#: (invariance, dataset, fixed values, learned from): App. D's ranges are 8 px = 0.57 and log 2 = 0.69
SWEEPS = [("translation", "translated", (0.0, 0.1, 0.25, 0.5), (0.25,)),
          ("scale", "scaled", (0.0, 0.15, 0.35, 0.7), (0.35,)),
          ("translation", "regular", (0.0, 0.1, 0.25, 0.5), (0.25,))]


def parse_args() -> argparse.Namespace:
    """``--hidden --samples --epochs --out --seed --profile`` (the reduced standard budget by default)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256, help="hidden units (standard: 512)")
    ap.add_argument("--samples", type=int, default=8, help="transformation samples S in training (standard: 16)")
    ap.add_argument("--epochs", type=int, default=5, help="epochs (standard: 10)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "studies" / ch2.STEM / "cpu_eta_sweep.json",
                    help="the record to write (default under _build/studies/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default="standard", help="whose settings (quick: a smoke test, unreduced)")
    return ap.parse_args()


def budget(a: argparse.Namespace) -> tuple[Profile, ch2.Settings]:
    """The CPU profile and its settings, reduced to ``a.hidden / a.samples / a.epochs`` unless quick."""
    prof = resolve(a.profile, device="cpu")
    s = settings(ch2.SETTINGS, prof)
    return prof, s if prof.name == "quick" else ch2.settings.reduced_settings(s, a.hidden, a.samples, a.epochs)


def main() -> None:
    a = parse_args()
    prof, s = budget(a)
    rec = RunRecord(ch2.STEM, prof, a.seed, output_dir=a.out.parent)
    done: list[dict] = []
    for inv, variant, values, learned in SWEEPS:
        t = time.perf_counter()
        r = run_eta_sweep(s, inv, variant, values, prof.device, a.seed, learned_from=learned)
        done.append(r)
        rec.add(sweeps=done, settings=s.__dict__)
        rec.write(name=a.out.name, what=(
            f"fixed and learned {', '.join(sorted({d['invariance'] for d in done}))} eta of Table 2's ReLU net "
            f"on a CPU (scripts/ch2_eta_sweep.py): {s.n_train:,} training images, {s.hidden} hidden units, "
            f"S = {s.table2.samples}, {s.table2.epochs} epochs"))
        best = r["names"][int(r["elbo"].argmax())]
        print(f"{inv} on {variant}: {time.perf_counter() - t:.0f} s; ELBO-best member: {best}", flush=True)
    print(eta_sweep_frame(done).to_string())
    print("written", a.out)


if __name__ == "__main__":
    main()
