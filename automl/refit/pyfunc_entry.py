"""The code MLflow runs to load an automl model: MLflow's *models from code*, so that loading a logged
model unpickles nothing. ``automl.refit.pyfunc.log_pyfunc_model`` logs this file as the model's
code; MLflow executes it when the model is loaded, never as part of automl itself.
"""

import mlflow

from automl.refit.pyfunc import AutoMLPyfuncModel

mlflow.models.set_model(AutoMLPyfuncModel())
