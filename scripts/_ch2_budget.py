"""What the chapter-2 CPU scripts share: the reduced-budget options and the settings they give."""
import argparse
from pathlib import Path

from helpers.experiments import ch2
from helpers.profiles import Profile, resolve, settings

CHAPTER = "02_invariant_weights"
RESULTS = Path(__file__).resolve().parent.parent / "results" / "standard" / CHAPTER


def parser(doc: str, out_name: str) -> argparse.ArgumentParser:
    """``--hidden --samples --epochs --out --seed --profile`` (the reduced standard budget by default)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256, help="hidden units (standard: 512)")
    ap.add_argument("--samples", type=int, default=8, help="transformation samples S in training (standard: 16)")
    ap.add_argument("--epochs", type=int, default=5, help="epochs (standard: 10)")
    ap.add_argument("--out", type=Path, default=RESULTS / out_name)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default="standard", help="whose settings (quick: a smoke test, unreduced)")
    return ap


def budget(a: argparse.Namespace) -> tuple[Profile, ch2.Settings]:
    """The CPU profile and its settings, reduced to ``a.hidden / a.samples / a.epochs`` unless quick."""
    prof = resolve(a.profile, device="cpu")
    s = settings(ch2.SETTINGS, prof)
    return prof, s if prof.name == "quick" else ch2.reduced_settings(s, a.hidden, a.samples, a.epochs)
