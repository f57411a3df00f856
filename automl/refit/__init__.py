"""After the search: the best configuration refit on all the data (``refit``), the model it gives
(``fitted``), its MLflow flavour (``pyfunc``), and getting it out again (``export``)."""
