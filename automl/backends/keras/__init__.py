"""The Keras 3 backend, on TensorFlow or JAX: ``backend.KerasBackend`` compiles a ``ModelSpec`` into a
functional model. Nothing is imported here, so that ``engine`` chooses the engine before Keras loads."""
