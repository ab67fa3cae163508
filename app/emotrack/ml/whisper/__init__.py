"""Whisper's speech encoder: importing OpenAI's weights from CTranslate2's format, and
encoding a clip once into frame features that emotion (and the face) pool from."""
