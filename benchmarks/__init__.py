"""clogreg's benchmarks: run them as modules from the repository root,
``python -m benchmarks.run_all`` (the whole suite, which writes BENCHMARKS.md) or
``python -m benchmarks.bench_epoch`` etc. ``_common`` holds what they share."""
