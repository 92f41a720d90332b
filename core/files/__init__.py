"""Files: the model file, pictures and atomic writes."""
