"""MLflow logging of a search (``tracker``, and ``relay`` for worker processes of a local store), and
what a study's results look like: the ``leaderboard`` and the HTML ``report``."""
