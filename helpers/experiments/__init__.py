"""One package per chapter (``ch0`` ... ``ch4``), each with the same files:

- ``settings``: the frozen ``Settings`` dataclass and ``SETTINGS = {"quick": ..., "standard": ..., "paper": ...}``;
- ``data``: chapter-only datasets (built from ``helpers.data``; never synthetic stand-ins for real data);
- ``models``: chapter-only modules (where the chapter has any);
- ``parts``: the compute, ``all_parts(settings) -> list[helpers.parts.Part]``; each part returns numbers and
  arrays, never models, and trains what it measures;
- ``views``: figures and tables drawn from part results (numpy arrays, as the store gives them back);
- ``claims``: ``CLAIMS`` (the rules, fixed before results), ``values(ev)`` (the measured value of each claim from
  the part results) and ``table(ev)``.

Each package exposes ``STEM`` (its notebook's stem), ``SETTINGS`` and ``PARTS`` (= ``parts.all_parts``) for
``helpers.runner``. Core modules never import this package; what two chapters use lives in the core.
"""
