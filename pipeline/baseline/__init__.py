"""The `local:baseline` classifier: hashed n-gram features, a logistic regression
trained with numpy (`train`), and an artifact that scores with the stdlib only.

Nothing here imports numpy except `pipeline.baseline.train`, so the Lambda bundle and
the inference path stay small.
"""
