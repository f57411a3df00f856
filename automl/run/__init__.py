"""Running a search: its settings (``settings``), the Optuna study (``study``), the budget, trials
lost with their process (``lost``), devices and worker processes (``devices``, ``pool``), the one
set-up both a search and a worker use (``session``), ``search`` itself and ``worker``."""
