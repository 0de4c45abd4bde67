"""Code shared by the scripts: the one hand-written PyTorch training loop (`scripts.common.plain_loop`)."""
