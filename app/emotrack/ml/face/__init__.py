"""Training data for the face network: phone alignment and synthetic speech."""
