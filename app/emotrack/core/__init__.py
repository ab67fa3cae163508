"""Qt-free, torch-free core: document model, windowing, heuristics, exports."""
