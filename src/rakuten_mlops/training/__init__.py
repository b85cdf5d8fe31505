"""Training, evaluation and explanation of the product-type classifier.

Import the modules themselves (`training.trainers`, `training.search.driver`, ...): this package
imports nothing, so the command line can read `training.choices` without loading scikit-learn.
"""
