"""Code for bundled studies (their generators); the files they write live in the top-level ``data/``."""
