"""Chapter 2, the reason for one setting: Table 3's CIFAR-10 images standardised, and the first layer's rate.

The paper is silent on preprocessing. On raw [0, 1] CIFAR pixels (dense and positive) the standard profile's
ReLU nets stayed at 17-24 % on the 8,068-image subset. This script trains the plain MLP member of Table 3
(``none``: no invariance) on regular CIFAR-10 at the standard budget (512 units, S = 16, 15 epochs, the standard
learning rates) in three arms: raw pixels with the first layer at 3e-4 (the settings before the change),
standardised pixels at 3e-4 (the profile now), standardised at 1e-3 (the paper's rate), and records the test
accuracy, test log-likelihood and training ELBO of each:

    HELPERS_DATA=../shared/data python scripts/ch2_cifar_preprocessing.py [--epochs 15] [--out PATH]

About 4-5 min an arm on one thread of this CPU. It writes ``_build/studies/02_invariant_weights/
cpu_cifar_preprocessing.json``; the committed record, ``results/standard/02_invariant_weights/
cpu_cifar_preprocessing.json``, is replaced only when ``--out`` names it.
"""
import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from helpers.experiments import ch2
from helpers.experiments.ch2.sweeps import run_invariance_type
from helpers.profiles import resolve
from helpers.records import RunRecord

ROOT = Path(__file__).resolve().parent.parent
#: (arm, standardise, first-layer learning rate)
ARMS = [("raw [0, 1], lr_w1 3e-4", False, 3e-4), ("standardised, lr_w1 3e-4", True, 3e-4),
        ("standardised, lr_w1 1e-3", True, 1e-3)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None, help="epochs (standard: 15)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path,
                    default=ROOT / "_build" / "studies" / ch2.STEM / "cpu_cifar_preprocessing.json")
    a = ap.parse_args()
    prof = resolve("standard", device="cpu")
    base = ch2.SETTINGS["standard"]
    epochs = a.epochs or base.cifar.epochs
    rec = RunRecord(ch2.STEM, prof, a.seed, output_dir=a.out.parent)
    rows = []
    for arm, standardise, lr_w1 in ARMS:
        s = replace(base, table2_invariances=("none",), cifar_standardise=standardise,
                    cifar=replace(base.cifar, lr_w1=lr_w1, epochs=epochs))
        t = time.perf_counter()
        r = run_invariance_type(s, "cifar10", "regular", torch.device("cpu"), a.seed)
        rows.append({"arm": arm, "standardise": standardise, "lr_w1": lr_w1, "test_acc": float(r["test_acc"][0]),
                     "test_ll": float(r["test_ll"][0]), "elbo": float(r["elbo"][0]),
                     "seconds": time.perf_counter() - t})
        print(f"{arm}: test accuracy {rows[-1]['test_acc']:.1f} %, test ll {rows[-1]['test_ll']:.3f}, "
              f"ELBO {rows[-1]['elbo']:.3f} ({rows[-1]['seconds']:.0f} s)", flush=True)
        rec.add(arms=rows, n_train=r["n_train"], epochs=epochs, hidden=s.cifar_hidden, samples=s.cifar.samples)
        rec.write(name=a.out.name, what=(
            f"Table 3's plain MLP member on regular CIFAR-10 ({r['n_train']:,} images, {s.cifar_hidden} units, "
            f"S = {s.cifar.samples}, {epochs} epochs, seed {a.seed}) on a CPU, raw vs standardised pixels "
            "(scripts/ch2_cifar_preprocessing.py)"))
    print("written", a.out)


if __name__ == "__main__":
    main()
