"""Extension of chapter 1's Fig. 5: the normalised-L2 regulariser on R4 at nu = 300, 1000, 3000 (standard
settings, 4-seed ensemble), beyond the grid of the committed standard record.

    HELPERS_DATA=../shared/data python scripts/ch1_l2n_extension.py [--out FILE]
writes _build/studies/l2_normalized_extension.json (about 8 min on 2 CPU cores); the committed study is
results/standard/01_genuine_invariance/l2_normalized_extension.json, replaced only when --out names it.
"""
import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np

from helpers.experiments import ch1
from helpers.profiles import resolve, settings
from helpers.provenance import device_name, versions

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default=None, help="the JSON to write (default _build/studies/...)")
out_path = parser.parse_args().out
prof = resolve("auto")
s = settings(ch1.SETTINGS, "standard")
ds = ch1.transforming("mnist", "rot4", s, 0)
out = {}
for nu in (300.0, 1000.0, 3000.0):
    t = time.perf_counter()
    r = ch1.evaluate(ch1.train("IR", ds, s, nu=nu, penalty="l2_normalized", device=prof.device), ds, s,
                     sensitivity=True)
    out[nu] = {k: float(np.mean(v)) for k, v in r.items()} | {"seconds": time.perf_counter() - t}
    print(nu, out[nu], flush=True)
root = Path(__file__).resolve().parent.parent
path = Path(out_path) if out_path else root / "_build/studies/l2_normalized_extension.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps({
    "chapter": "01_genuine_invariance", "profile": "standard",
    "what": "IR with the normalised-L2 regulariser on R4 beyond the standard grid; 4-seed means; "
            "scripts/ch1_l2n_extension.py", "device": device_name(prof.device),
    "date": datetime.date.today().isoformat(), "versions": versions(), "by_nu": out}, indent=1))
print("written", path)
