"""The model search: which featurizer and classifier family fit this catalogue, chosen on validation."""
