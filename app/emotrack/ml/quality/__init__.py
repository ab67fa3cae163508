"""Reference-free speech quality (VQScore) and enhancement models."""
