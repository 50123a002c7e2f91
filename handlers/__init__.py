"""EpochRegister Lambda code: one entry point per contract.FUNCTION_HANDLERS function."""
