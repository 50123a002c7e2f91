"""The cdktf App: both stacks composed, on top of everything else."""
