"""The root stack and the constructs it composes (named so as not to shadow `constructs`)."""
