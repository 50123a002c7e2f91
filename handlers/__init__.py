"""EpochRegister Lambda code: three entry points (register, read, health) and their shared parts."""
