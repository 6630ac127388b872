"""Chapter 3's parts (``helpers.parts``), each one run of ``runs`` (its ``description`` names the paper's figure):
``similarity-demo`` (Fig. 2a), ``toy`` (Fig. 3), one per MNIST6 task (Fig. 5), per augmentation (Fig. 6a;
``aug-baseline`` also Fig. 2b on its first seed) and per WRN width (Fig. 6b), and ``pretrained`` (Figs. 4, 7;
``{"skipped": why}`` without ``image_dir``).

Where WRN-k=1 is the very network and recipe of the augmentation baseline (as in the quick profile), there is no
``width-1`` part: ``settings.width_part(s, 1)`` names ``aug-baseline``. Each part's ``uses`` lists the settings it
reads, so that e.g. the page's ``image_dir`` changes only the ``pretrained`` part's hash.
"""
from __future__ import annotations

from functools import partial

from ...parts import Needs, Part
from .pretrained import run_pretrained
from .runs import augmentation, mnist6_task, run_similarity_demo, run_toy, width
from .settings import MNIST6_TASKS, Settings, aug_part, mnist6_part, width_part

__all__ = ["all_parts"]

_MNIST6_USES = ("seeds", "mnist6_train", "mnist6_val", "mnist6_fit", "n_eval")
_CIFAR_USES = ("seeds", "cifar_seeds", "cifar_train", "cifar_val", "cifar_fit", "n_eval", "shifts")


def _uses(s: Settings, experiment: str = "mnist6") -> tuple[str, ...]:
    """The tracking and layout settings that shape ``experiment``'s parts (``"mnist6"``, ``"augmentations"`` or
    ``"widths"``), each only away from its default (so the parts stored before them keep their hashes)."""
    widths = (("track_epochs",) if s.track_epochs else ()) + (("width_stop_acc",) if s.width_stop_acc else ())
    track = {"widths": widths, "augmentations": ("track_epochs", "track_augmentations")
             if s.track_epochs and s.track_augmentations else ()}.get(experiment, ())
    return track + (("channels_last",) if s.channels_last else ())


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s`` (see the module docstring)."""
    out = [Part("similarity-demo", lambda _s, _d: run_similarity_demo(), Needs(memory_gb=0.5), uses=(),
                description="Fig. 2a: cosine vs correlation of random maps"),
           Part("toy", lambda _s, _d: run_toy(), Needs(memory_gb=0.5), uses=(),
                description="Fig. 3: the hand-built invariant, equivariant and random toy CNNs")]
    out += [Part(mnist6_part(t), partial(mnist6_task, task=t), Needs(gpu=True, memory_gb=2.0),
                 uses=(*_MNIST6_USES, *_uses(s)),
                 description=f"Fig. 5: the 7-layer CNN on {t}, rotation in/equivariance") for t in MNIST6_TASKS]
    out += [Part(aug_part(a), partial(augmentation, aug=a), Needs(gpu=True, memory_gb=3.0),
                 uses=(*_CIFAR_USES, "resnet_blocks", *_uses(s, "augmentations")),
                 description=f"Fig. 6a{' (and 2b)' if a == 'baseline' else ''}: CIFAR ResNet with {a}, "
                             "translation in/equivariance") for a in s.augmentations]
    out += [Part(f"width-{k}", partial(width, k=k), Needs(gpu=True, memory_gb=2.0 + 0.5 * k),
                 uses=(*_CIFAR_USES, "wrn_blocks", *_uses(s, "widths")),
                 description=f"Fig. 6b: WRN width k={k}, translation in/equivariance")
            for k in s.widths if width_part(s, k) == f"width-{k}"]
    out.append(Part("pretrained", lambda st, d: run_pretrained(st.image_dir or None, n=st.n_pretrained, device=d),
                    Needs(gpu=True, memory_gb=8.0), uses=("image_dir", "n_pretrained"),
                    description="Figs. 4, 7: pretrained ImageNet CNNs vs ViT / Mixer (skipped without image_dir)",
                    optional=True))  # offline it skips, stores nothing, and the profile counts as complete
    return out
