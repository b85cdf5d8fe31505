"""AutoML for any table: the task spec, the search, SHAP explanations (the listing classifier has its own trainer)."""
