"""One module per chapter: the runners its notebook calls. Core modules never import from here."""
