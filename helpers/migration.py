"""The one-off conversion of a store to record format 2 (``helpers.store``): ``python -m helpers migrate-store``.

A record of format 1 has no content hash and no ``data``. Converting it computes nothing anew:

1. its settings hash is recomputed from its stored settings first; a record that does not give its own hash was
   edited and is refused (never converted into "verified" evidence);
2. ``data``: the datasets the part read, from the chapter's code (``data_read``, below), each named by
   ``helpers.data``'s identity of the files it was computed on. Every part stored before this format was computed
   from the files staged in ``shared/data`` (``shared/data/MANIFEST.md``: the official MNIST and Fashion-MNIST,
   and a CIFAR-10 *subset* of 8,068 / 1,017 images; the full CIFAR-10 has never been on any machine of this
   project, and ``scripts/device_stage.sh`` copies the same files to the GPU machine), so CIFAR-10 parts are
   recorded as computed on the subset;
3. its settings hash is recomputed with that ``data`` (unchanged for a part that read no dataset), and the record
   is written with its array and content hashes (``Store.save``'s format), keeping every other field and its npz
   as it is; ``migrated`` says when, from which hash and why;
4. the chapter's page records (``results.json`` and the other JSON files beside ``parts/``) that name the old
   hash of a converted part get the new one (a plain text replacement of that hash, nothing else).

Pieces (``<part>.s0.pieces/``) are tagged with the hash without data, which this format leaves unchanged:
they stay usable as they are. A record already of format 2 is left alone, so running it twice changes nothing.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from . import data as _data
from .locks import atomic_write
from .partfile import FORMAT, IntegrityError, array_hash, decode, dumps, part_hash, seal
from .provenance import now
from .store import Store

__all__ = ["data_read", "migrate_store", "COMPUTED_ON"]

#: The files every format-1 part was computed on (``shared/data``): each dataset's identity.
COMPUTED_ON = {"mnist": _data._identity("mnist", True), "fashion_mnist": _data._identity("fashion_mnist", True),
               "cifar10": _data._identity("cifar10", False)}

# (chapter stem, part-name pattern) -> datasets its compute reads through helpers.data.load, read from the code:
# ch0 data.mnist_splits; ch1 parts.transforming("mnist") and run_drift's transforming("fashion_mnist"), which only
# the parts whose result has "drift" ran; run_proposition's data.load("mnist"); ch2 parts: run_toy is synthetic,
# run_rotation_sweep / ablation.run_arm / _table23 read transformed_dataset(name) (t3: cifar10); ch3: the
# similarity demo is synthetic, run_toy and mnist6 read MNIST, augmentation and width CIFAR-10, pretrained
# Imagenette (not helpers.data; its stored records are skips); ch4: o5 is synthetic, rotation / sweep /
# layerwise read ch4.data.rotation_mnist, cifar rotation_cifar10; ch5: every part ch4.data.rotation_mnist.
_READS = [
    ("00_template", r"ensemble-vs-loop", ("mnist",)),
    ("01_genuine_invariance", r"(group|ir)-.*", ("mnist", "fashion_mnist?drift")),
    ("01_genuine_invariance", r"sensitivity-.*|proposition", ("mnist",)),
    ("02_invariant_weights", r"toy", ()),
    ("02_invariant_weights", r"t1-.*|t2-.*|ab-.*", ("mnist",)),
    ("02_invariant_weights", r"t3-.*", ("cifar10",)),
    ("03_learned_equivariance_depth", r"similarity-demo|pretrained", ()),
    ("03_learned_equivariance_depth", r"toy|mnist6.*", ("mnist",)),
    ("03_learned_equivariance_depth", r"aug-.*|width-.*", ("cifar10",)),
    ("04_liegg", r"o5|o5-sizes", ()),
    ("04_liegg", r"rotation|sweep-d.*|layerwise", ("mnist",)),
    ("04_liegg", r"cifar", ("cifar10",)),
    ("05_four_lenses", r".*", ("mnist",)),
]


def data_read(chapter: str, part: str, result: Any) -> dict:
    """``{name: identity}`` of the datasets a format-1 part of ``chapter`` read (``COMPUTED_ON``); ``{}`` for a
    skip, which read nothing.

    Raises:
        ValueError: a chapter and part this table does not know (the conversion stops rather than guess).
    """
    if isinstance(result, dict) and isinstance(result.get("skipped"), str):
        return {}
    for stem, pattern, names in _READS:
        if stem == chapter and re.fullmatch(pattern, part):
            out = {}
            for name in names:
                name, _, key = name.partition("?")
                if not key or (isinstance(result, dict) and key in result):
                    out[name] = COMPUTED_ON[name]
            return dict(sorted(out.items()))
    raise ValueError(f"no record of the datasets that part {part!r} of {chapter} reads; add it to "
                     "helpers.migration._READS before converting")


def _convert(path: Path, doc: dict, say) -> tuple[str, str]:
    """Convert one format-1 record in place; returns ``(old hash, new hash)``."""
    old = doc.get("settings_hash")
    if part_hash(doc["chapter"], doc["part"], doc.get("version"), doc.get("settings")) != old:
        raise IntegrityError(f"{path}: its settings do not give its settings hash {old} (edited?); not converted")
    legacy = path.with_suffix(".npz")
    arrays: dict = {}
    if doc.get("arrays"):
        if not legacy.exists():
            raise ValueError(f"{path} refers to arrays in {legacy}, which is missing; not converted")
        with np.load(legacy, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if sorted(arrays) != sorted(doc["arrays"]):
            raise IntegrityError(f"{path}: {legacy.name} holds {sorted(arrays)}, the record names {doc['arrays']}")
    result = decode(doc["result"], arrays)
    read = data_read(doc["chapter"], doc["part"], result)
    new = part_hash(doc["chapter"], doc["part"], doc.get("version"), doc.get("settings"), read)
    hashes = {k: array_hash(v) for k, v in sorted(arrays.items())}
    out = {k: v for k, v in doc.items() if k not in ("arrays", "result")}
    out |= {"settings_hash": new, "data": read, "format": FORMAT, "arrays": hashes,
            "migrated": {"date": now(), "from": "format 1", "settings_hash": old,
                         "data": "recorded by helpers.migration from the chapter's code and shared/data's files"}}
    out["result"] = doc["result"]
    atomic_write(path, (dumps(seal(out)) + "\n").encode())
    Store(path.parents[3]).read(path)  # reads back and checks
    say(f"  {path}: {old} -> {new}" + (f" (data: {', '.join(read)})" if read else ""))
    return old, new


def migrate_store(root: str | Path, dry_run: bool = False, say=print) -> dict:
    """Convert every format-1 record under ``root`` (module docstring) and the page records that name their hashes.

    Returns:
        ``{"converted": n, "unchanged": n, "records": [page records updated], "hashes": {old: new}}``.
    Raises:
        IntegrityError, ValueError: a record that cannot be converted, naming it (those before it are converted).
    """
    root = Path(root)
    converted, unchanged, updated = 0, 0, []
    renamed: dict[Path, dict[str, str]] = {}
    for path in sorted(root.glob("*/*/parts/*.json")):
        doc = json.loads(path.read_text())
        if doc.get("format") == FORMAT:
            unchanged += 1
            continue
        if dry_run:
            say(f"  {path}: would be converted")
            converted += 1
            continue
        old, new = _convert(path, doc, say)
        converted += 1
        if old != new:
            renamed.setdefault(path.parents[1], {})[old] = new
    for chapter_dir, hashes in sorted(renamed.items()):
        for rec in sorted(chapter_dir.glob("*.json")):
            text = rec.read_text()
            changed = text
            for old, new in hashes.items():
                changed = changed.replace(f'"{old}"', f'"{new}"')
            if changed != text:
                atomic_write(rec, changed.encode())
                updated.append(str(rec))
                say(f"  {rec}: the hashes of its parts updated")
    return {"converted": converted, "unchanged": unchanged, "records": updated,
            "hashes": {o: n for h in renamed.values() for o, n in h.items()}}
