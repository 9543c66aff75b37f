"""Small complete programs written with sws_core."""
