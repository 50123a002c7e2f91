"""The user's deploy commands around the cdktf CLI: pre-flight checks, bootstrap, teardown."""
