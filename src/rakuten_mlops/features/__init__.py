"""Text cleaning and TF-IDF features over designation and description."""

from rakuten_mlops.features.text import clean_text, clean_texts
from rakuten_mlops.features.vectorizers import FeatureConfig, TextFeaturizer

__all__ = ["FeatureConfig", "TextFeaturizer", "clean_text", "clean_texts"]
