"""The one-time bootstrap of the Terraform state backend."""

from remote_state.stack import RemoteStateStack

__all__ = ["RemoteStateStack"]
