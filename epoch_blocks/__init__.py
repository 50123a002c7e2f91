"""Building blocks of the stacks' constructs: policy documents, the state backend and the
roles' boundary (both stacks); JSON documents with references and HCL blocks (root stack)."""
