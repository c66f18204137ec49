"""The suite checking itself: mutants, the soak, the benchmark, re-recording the fixtures."""
