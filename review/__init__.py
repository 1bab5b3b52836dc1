"""Human review of verdicts: a web queue, reviewers' decisions, evaluation cases and
live quality figures. Routes, stores, templates and static files live together here;
verdicts, history, events and settings come from `pipeline`."""
