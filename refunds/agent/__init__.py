"""The drafting agent: context in, structured ``RefundDecision`` out. Never touches the ORM
except in ``retrieval`` (which builds the context) and the pipeline service."""
