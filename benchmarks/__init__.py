"""sknoisy's benchmark suite: ``python -m benchmarks run [--quick] [names...]``.

Every benchmark is a script ``benchmarks/<name>.py`` that also runs on its
own (``python benchmarks/<name>.py [--quick]``) and writes its results to
``benchmarks/results/``; ``python -m benchmarks list`` names them.
"""
