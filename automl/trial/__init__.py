"""One trial: cross-validation of a configuration (``cv``), its scores (``metrics``), the Optuna
objective that samples, trains and reports it (``objective``), how it ends (``outcome``), what the
user sees meanwhile (``progress``) and how a signal stops it (``interrupts``)."""
