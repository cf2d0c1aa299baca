"""Patient linkage: which source patient records are the same person."""
