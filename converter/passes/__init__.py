"""Graph passes: each a function that rewrites an IR graph in place."""
