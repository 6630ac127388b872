"""One package per chapter (``ch0`` ... ``ch5``), one paper each, with the same files, the compute top-down:
``settings`` (profiles), ``data`` (chapter-only datasets, never synthetic stand-ins for real data), ``models`` and
``measures`` (where the chapter has modules and read-outs of its own), ``runs`` (what each part trains and measures,
returning numbers and arrays, never models), ``parts`` (only the list of parts: ``all_parts(settings) ->
list[helpers.parts.Part]``); and the reading, which never imports the compute: ``results`` (stored results
reshaped, where the chapter needs it), ``paper`` (the paper's typed-in numbers), ``claims`` (the claims, their rules
fixed before the results, and the values computed from part results) and ``views`` (figures and tables).

Each package exposes what ``helpers.runner`` needs: ``STEM`` (its notebook's stem), ``SETTINGS`` and ``PARTS``
(= ``parts.all_parts``). Core modules never import this package; what two chapters use lives in the core.
"""
