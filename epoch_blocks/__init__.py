"""Building blocks both stacks use: IAM/key policy documents and JSON documents with references."""
