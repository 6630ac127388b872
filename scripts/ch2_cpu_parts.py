"""Chapter 2 on a CPU at reduced standard settings: every MNIST experiment, sized to fit two cores.

The standard profile of chapter 2 is sized for one GPU: a sweep of its 512-unit networks with S = 16
transformation samples costs ~2 s per training step on two CPU cores, hours per table. This script runs
the chapter's MNIST experiments (Fig. 1's toy; Table 1 with its Fig. 2 / Fig. 5 members for the RFF net, and
with ``--nets rff relu`` for the ReLU net too; Table 2) with the standard profile's data (20,000 training
and 10,000 test images per dataset), learning rates and initial values, but ``--hidden`` units (default
256 instead of 512), ``--samples`` transformation samples in training (default 8 instead of 16; evaluation
keeps 32) and ``--epochs`` epochs (default 5 instead of 10):

    HELPERS_DATA=../shared/data python scripts/ch2_cpu_parts.py [--nets rff relu] [--tables t1 t2 t3] [--out PATH]

It writes ``results/standard/02_invariant_weights/cpu_reduced.json`` after every experiment (so an
interrupted run keeps what it finished): the numbers in the notebook record's layout
(``ch2.record_numbers``), the wall time of each experiment and the settings used. The chapter shows that
record and judges its claims with the page's claim definitions. ``t3`` (Table 3 on the offline CIFAR-10
subset) is not run by default. ``--profile quick`` runs the quick profile's settings unchanged, as a smoke
test of this script (~1 min).
"""
import time
from dataclasses import replace

from _ch2_budget import CHAPTER, budget, parser
from helpers.experiments import ch2
from helpers.records import RunRecord


def main() -> None:
    ap = parser(__doc__, "cpu_reduced.json")
    ap.add_argument("--tables", nargs="*", default=["t1", "t2"], choices=["t1", "t2", "t3"],
                    help="which tables to run besides the toy (t3: CIFAR-10, not run by default)")
    ap.add_argument("--nets", nargs="*", default=["rff"], choices=["rff", "relu"],
                    help="Table 1's nets (default rff: the claims C2.1-C2.4 are judged on the RFF net)")
    ap.add_argument("--t2-eta-init", type=float, default=0.0,
                    help="initial value of Table 2's learned generators (default 0, the paper's)")
    ap.add_argument("--t2-lr-other", type=float, default=None,
                    help="Table 2's learning rate of the five non-rotation generators (default: the profile's)")
    a = ap.parse_args()
    prof, s = budget(a)
    s = replace(s, table2_eta_init=a.t2_eta_init)
    if a.t2_lr_other is not None:
        s = replace(s, table2=replace(s.table2, lr_eta_other=a.t2_lr_other))
    rec = RunRecord(CHAPTER, prof, a.seed, output_dir=a.out.parent)
    got: dict = {"toy": None, "t1": {}, "t2": None, "t3": None}
    seconds: dict = {}

    def write(stage: str, t0: float) -> None:
        seconds[stage] = round(time.perf_counter() - t0, 1)
        numbers = ch2.record_numbers(got["toy"], got["t1"], got["t2"], got["t3"])
        rec.add(**numbers, experiments=list(seconds), seconds=seconds, settings=s.__dict__)
        what = (f"chapter 2's MNIST experiments on a CPU at "
                f"{'reduced standard' if prof.name != 'quick' else 'the quick profile (smoke test)'} settings "
                f"(scripts/ch2_cpu_parts.py): {s.n_train:,} training images, {s.hidden} hidden units, "
                f"S = {s.train.samples}, {s.train.epochs} epochs"
                + (f"; Table 2's eta starts at {s.table2_eta_init:g}" if s.table2_eta_init else "")
                + (f", its non-rotation generators learn at {a.t2_lr_other:g}" if a.t2_lr_other is not None else ""))
        rec.write(name=a.out.name, what=what)
        done = {k: f"{sum(v)}/{len(v)}" for k, v in numbers["checks"].items() if v is not None}
        print(f"{stage}: {seconds[stage]:.0f} s; sub-checks passed {done}", flush=True)

    t = time.perf_counter()
    got["toy"] = ch2.run_toy(s, prof.device, a.seed)
    write("toy", t)
    stages = [("t1 " + net + " " + v, net, v) for net in a.nets for v in ch2.ROTATION_DATASETS] \
        if "t1" in a.tables else []
    for stage, net, v in stages:
        t = time.perf_counter()
        got["t1"].setdefault(net, {})[v] = ch2.run_rotation_sweep(s, net, v, prof.device, a.seed,
                                                                  with_ml=(net == "rff" and v == "full"))
        write(stage, t)
    for key, name in (("t2", "mnist"), ("t3", "cifar10")):
        if key in a.tables:
            t = time.perf_counter()
            got[key] = ch2.run_invariance_types(s, name, prof.device, a.seed)
            write(key, t)
    print("written", a.out)


if __name__ == "__main__":
    main()
