"""The datasets workbench: any table a user brings, read, profiled, preprocessed with reasons.

Public entry points (import them from their modules; nothing is imported here, to keep the CLI fast):
``reading.read_table`` / ``read_frame``, ``store.DatasetStore`` (add, list, show, load_frame,
load_pipeline), ``profiling.profile_frame`` (a ``models.TableProfile``), ``suggestions.suggest_steps`` /
``suggest``, ``pipeline.preprocess_frame`` / ``load_pipeline``, and ``workbench`` (the same operations on
stored datasets, as the CLI, the API, the control room and the ``preprocess`` flow run them).
"""
