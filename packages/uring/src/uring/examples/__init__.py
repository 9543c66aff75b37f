"""Small complete programs written with `uring` alone."""
