"""Small complete programs written with sws_ws (run each with `python -m`)."""
