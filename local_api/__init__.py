"""Local mode: the real handlers behind a local API Gateway stand-in, over dynalite."""
