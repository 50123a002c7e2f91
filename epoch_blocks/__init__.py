"""Building blocks of the stacks' constructs: policy documents and the state backend (both
stacks), the boundary, JSON documents with references and HCL blocks (root stack)."""
