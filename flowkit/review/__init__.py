"""Tools for reviewers and on-call engineers: check, graph, docs, inspect."""
