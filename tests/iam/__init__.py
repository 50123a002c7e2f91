"""A real IAM policy evaluator for the tests: npm @cloud-copilot/iam-simulate (dev only)."""
